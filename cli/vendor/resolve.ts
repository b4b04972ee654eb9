import { parseVersion } from '../../gateway/catalog/versions.ts'
import type { ApiClient, Resource } from './client.ts'
import { UsageError } from './errors.ts'

/** Lookups by alias, as the keygen CLI does them: ids are used as they are, codes and keys are asked for. */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
export const isUuid = (s: string) => UUID.test(s)

export const CHANNELS = ['stable', 'rc', 'beta', 'alpha', 'dev'] as const
export type Channel = (typeof CHANNELS)[number]

/** Where a release lives: its product and, optionally, its package (ids or aliases, as given). */
export interface ReleaseScope {
  product: string
  package?: string
}

/** productId turns a product id or code into the id (release creation needs the UUID). */
export async function productId(client: ApiClient, product: string): Promise<string> {
  return (await client.resource('GET', `/products/${encodeURIComponent(product)}`)).id
}

/** packageId turns a package id or key into the id. */
export async function packageId(client: ApiClient, pkg: string): Promise<string> {
  return (await client.resource('GET', `/packages/${encodeURIComponent(pkg)}`)).id
}

/** entitlementIds turns entitlement ids or codes into ids. */
export async function entitlementIds(client: ApiClient, list: string[]): Promise<string[]> {
  const ids: string[] = []
  for (const e of list) {
    ids.push(isUuid(e) ? e : (await client.resource('GET', `/entitlements/${encodeURIComponent(e)}`)).id)
  }
  return ids
}

/** findRelease resolves a release by id, version or tag within a product (and package, when given). */
export async function findRelease(client: ApiClient, release: string, scope: ReleaseScope): Promise<Resource> {
  return client.resource('GET', `/releases/${encodeURIComponent(release)}`, {
    query: { product: scope.product, package: scope.package },
  })
}

/** checkVersion rejects what the server would reject, before any request. */
export function checkVersion(version: string): NonNullable<ReturnType<typeof parseVersion>> {
  const parsed = parseVersion(version)
  if (!parsed) {
    throw new UsageError(
      `invalid version ${JSON.stringify(version)}: use a semantic version such as 1.2.3 or 1.2.3-beta.1 (no "v" prefix)`,
    )
  }
  return parsed
}

/** channelFor derives the channel from the prerelease (1.0.0-beta.1 → beta; no prerelease → stable). */
export function channelFor(version: string): Channel {
  const { prerelease } = checkVersion(version)
  if (!prerelease) return 'stable'
  const channel = CHANNELS.find((c) => c !== 'stable' && prerelease.startsWith(c))
  if (!channel) {
    throw new UsageError(
      `cannot derive a channel from the prerelease ${JSON.stringify(prerelease)}: it must start with rc, beta, alpha or dev`,
    )
  }
  return channel
}

/** parseMetadata reads --metadata: a JSON object. */
export function parseMetadata(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new UsageError(`--metadata must be a JSON object (got ${JSON.stringify(text)})`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`--metadata must be a JSON object (got ${JSON.stringify(text)})`)
  }
  return value as Record<string, unknown>
}

/** splitList reads a comma-separated flag such as --entitlements a,b. */
export const splitList = (text: string | undefined): string[] =>
  (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')

export interface NewRelease {
  version: string
  channel: Channel
  tag?: string
  name?: string
  description?: string
  metadata?: Record<string, unknown>
  entitlements?: string[]
}

/** createRelease drafts a release (POST /v1/releases) and returns it. */
export async function createRelease(client: ApiClient, scope: ReleaseScope, input: NewRelease): Promise<Resource> {
  const [product, pkg, entitlements] = await Promise.all([
    isUuid(scope.product) ? scope.product : productId(client, scope.product),
    scope.package === undefined ? undefined : isUuid(scope.package) ? scope.package : packageId(client, scope.package),
    entitlementIds(client, input.entitlements ?? []),
  ])
  const attributes: Record<string, unknown> = { version: input.version, channel: input.channel, tag: input.tag ?? null }
  if (input.name !== undefined) attributes.name = input.name
  if (input.description !== undefined) attributes.description = input.description
  if (input.metadata !== undefined) attributes.metadata = input.metadata
  const relationships: Record<string, unknown> = { product: { data: { type: 'products', id: product } } }
  if (pkg) relationships.package = { data: { type: 'packages', id: pkg } }
  if (entitlements.length > 0) {
    relationships.constraints = {
      data: entitlements.map((id) => ({
        type: 'constraints',
        relationships: { entitlement: { data: { type: 'entitlements', id } } },
      })),
    }
  }
  return client.resource('POST', '/releases', { body: { data: { type: 'releases', attributes, relationships } } })
}

/** describeRelease is how a release is named in output: `1.2.3 (<id>)`. */
export const describeRelease = (r: Resource) => `${String(r.attributes.version)} (${r.id})`
