import type { FastifyRequest } from 'fastify'
import { forbidden, notFound } from '../errors.ts'
import { artifactInScope, canManageProduct, canShowRelease, releaseInScope } from '../auth/policy.ts'
import type { Principal } from '../auth/principal.ts'
import { type Executor, isUuid } from '../catalog/accounts.ts'
import { type LoadedRelease, loadReleases } from '../catalog/release-query.ts'
import type { ArtifactRow, Channel, EntitlementRow, PackageRow, ProductRow } from '../catalog/types.ts'
import { channelsFor, compareVersions } from '../catalog/versions.ts'
import { param } from './pagination.ts'

/**
 * Alias lookups shared by the API and the engines. Every lookup applies the caller's scope first, so what the
 * caller may not see is a 404 "not found", never a 403 that would leak its existence.
 * see: ../shared/spec/management-api.md §0 "Lookup by alias" and §4
 */

export async function findProduct(db: Executor, accountId: string, idOrCode: string): Promise<ProductRow | undefined> {
  const q = db.selectFrom('products').selectAll().where('account_id', '=', accountId)
  return (
    isUuid(idOrCode) ? q.where('id', '=', idOrCode.toLowerCase()) : q.where('code_key', '=', idOrCode.toLowerCase())
  )
    .orderBy('created_at')
    .executeTakeFirst()
}

export async function findPackage(db: Executor, accountId: string, idOrKey: string): Promise<PackageRow | undefined> {
  const q = db.selectFrom('packages').selectAll().where('account_id', '=', accountId)
  return (isUuid(idOrKey) ? q.where('id', '=', idOrKey.toLowerCase()) : q.where('key', '=', idOrKey))
    .orderBy('created_at')
    .executeTakeFirst()
}

export async function findEntitlement(
  db: Executor,
  accountId: string,
  idOrCode: string,
): Promise<EntitlementRow | undefined> {
  const q = db.selectFrom('entitlements').selectAll().where('account_id', '=', accountId)
  return (
    isUuid(idOrCode) ? q.where('id', '=', idOrCode.toLowerCase()) : q.where('code_key', '=', idOrCode.toLowerCase())
  )
    .orderBy('created_at')
    .executeTakeFirst()
}

/** packagesOfEngine is the set of package ids using an engine (key or UUID; '' means packages without one). */
export async function packagesOfEngine(db: Executor, accountId: string, engine: string): Promise<Set<string>> {
  if (isUuid(engine)) {
    const row = await db
      .selectFrom('engines')
      .select('key')
      .where('account_id', '=', accountId)
      .where('id', '=', engine.toLowerCase())
      .executeTakeFirst()
    if (!row) return new Set()
    engine = row.key
  }
  const pkgs = await db.selectFrom('packages').select(['id', 'engine']).where('account_id', '=', accountId).execute()
  return new Set(pkgs.filter((p) => (engine === '' ? p.engine === null : p.engine === engine)).map((p) => p.id))
}

/** entitlementIdsOf resolves entitlement codes (or ids) to ids; unknown ones are left out. */
export async function entitlementIdsOf(db: Executor, accountId: string, codes: string[]): Promise<Set<string>> {
  if (codes.length === 0) return new Set()
  const rows = await db
    .selectFrom('entitlements')
    .select('id')
    .where('account_id', '=', accountId)
    .where((eb) =>
      eb.or([
        eb(
          'code_key',
          'in',
          codes.map((c) => c.toLowerCase()),
        ),
        eb(
          'id',
          'in',
          codes
            .filter(isUuid)
            .map((c) => c.toLowerCase())
            .concat(''),
        ),
      ]),
    )
    .execute()
  return new Set(rows.map((r) => r.id))
}

export const releaseNotFound = (alias: string) => notFound(`The requested release '${alias}' was not found`)
export const artifactNotFound = (alias: string) => notFound(`The requested artifact '${alias}' was not found`)

export interface ReleaseFilters {
  /** Product UUID or code. */
  product?: string
  /** Package UUID or key; '' means releases without a package. */
  package?: string
  channel?: Channel
  /** Only these releases (the releases of already-found artifacts). */
  ids?: readonly string[]
}

/** resolveFilters turns product/package aliases into ids; null means "matches nothing". */
async function resolveFilters(db: Executor, accountId: string, f: ReleaseFilters) {
  let productId: string | undefined
  let packageId: string | null | undefined
  // A UUID needs no lookup: the release query is scoped to the account, so an unknown one simply matches nothing.
  if (f.product !== undefined) {
    productId = isUuid(f.product) ? f.product.toLowerCase() : (await findProduct(db, accountId, f.product))?.id
    if (!productId) return null
  }
  if (f.package !== undefined && f.package !== '') {
    packageId = isUuid(f.package) ? f.package.toLowerCase() : (await findPackage(db, accountId, f.package))?.id
    if (!packageId) return null
  } else if (f.package === '') packageId = null
  return { productId, packageId }
}

/** scopedReleases loads releases matching the filters that the principal may see, oldest first. */
export async function scopedReleases(
  db: Executor,
  principal: Principal,
  accountId: string,
  filters: ReleaseFilters,
  alias?: string,
): Promise<LoadedRelease[]> {
  const ids = await resolveFilters(db, accountId, filters)
  if (!ids) return []
  const rows = await loadReleases(db, accountId, (q) => {
    let out = q
    if (ids.productId) out = out.where('releases.product_id', '=', ids.productId)
    if (ids.packageId === null) out = out.where('releases.package_id', 'is', null)
    else if (ids.packageId) out = out.where('releases.package_id', '=', ids.packageId)
    if (filters.channel) out = out.where('releases.channel', 'in', channelsFor(filters.channel))
    if (filters.ids) out = out.where('releases.id', 'in', filters.ids.length ? [...filters.ids] : [''])
    if (alias !== undefined) {
      out = out.where((eb) =>
        eb.or([
          ...(isUuid(alias) ? [eb('releases.id', '=', alias.toLowerCase())] : []),
          eb('releases.version', '=', alias),
          eb('releases.tag', '=', alias),
        ]),
      )
    }
    return out.orderBy('releases.created_at').orderBy('releases.id')
  })
  return rows.filter((r) => releaseInScope(principal, r.facts))
}

/**
 * findRelease resolves `:id|version|tag` within the caller's scope (oldest wins, an id match first) and
 * applies the show rule: invisible → 404, visible but denied → 403.
 */
export async function findRelease(
  request: FastifyRequest,
  alias: string,
  filters: ReleaseFilters = {},
): Promise<LoadedRelease> {
  const matches = await scopedReleases(request.server.catalog.db, request.principal, request.account.id, filters, alias)
  const found = matches.find((r) => r.row.id === alias.toLowerCase()) ?? matches[0]
  if (!found) throw releaseNotFound(alias)
  const decision = canShowRelease(request.principal, found.facts)
  if (!decision.allow) throw forbidden(decision.reason)
  return found
}

/** findManageableRelease is findRelease for writes: the caller must also manage the release's product. */
export async function findManageableRelease(request: FastifyRequest, alias: string, filters: ReleaseFilters = {}) {
  const release = await findRelease(request, alias, filters)
  if (!canManageProduct(request.principal, release.row.product_id)) throw forbidden()
  return release
}

/** releaseFiltersFromQuery reads `product`, `package` and `channel` query parameters. */
export function releaseFiltersFromQuery(query: unknown): ReleaseFilters {
  const channel = param(query, 'channel')
  return {
    product: param(query, 'product'),
    package: param(query, 'package'),
    channel: channel && ['stable', 'rc', 'beta', 'alpha', 'dev'].includes(channel) ? (channel as Channel) : undefined,
  }
}

export interface LoadedArtifact {
  row: ArtifactRow
  release: LoadedRelease
}

export interface ArtifactFilters extends ReleaseFilters {
  /** Release UUID, version or tag. */
  release?: string
  platform?: string
  arch?: string
  filetype?: string
  status?: string
}

/**
 * findArtifact resolves an artifact by UUID or exact filename among the artifacts the caller may see; by
 * filename, the highest release version wins. Invisible → 404; visible but denied → 403.
 */
export async function findArtifact(
  request: FastifyRequest,
  alias: string,
  filters: ArtifactFilters = {},
): Promise<LoadedArtifact> {
  const { db } = request.server.catalog
  const principal = request.principal
  let q = db.selectFrom('artifacts').selectAll().where('account_id', '=', request.account.id)
  q = isUuid(alias)
    ? q.where((eb) => eb.or([eb('id', '=', alias.toLowerCase()), eb('filename', '=', alias)]))
    : q.where('filename', '=', alias)
  if (filters.platform !== undefined)
    q = q.where('platform', filters.platform === '' ? 'is' : '=', filters.platform || null)
  if (filters.arch !== undefined) q = q.where('arch', filters.arch === '' ? 'is' : '=', filters.arch || null)
  if (filters.filetype !== undefined) {
    const ft = filters.filetype.replace(/^\./, '').toLowerCase()
    q = q.where('filetype', ft === '' ? 'is' : '=', ft || null)
  }
  if (filters.status !== undefined) q = q.where('status', '=', filters.status.toUpperCase() as ArtifactRow['status'])
  const rows = await q.execute()
  if (rows.length === 0) throw artifactNotFound(alias)
  // Only the releases of the matching artifacts: downloads must not load the whole account's catalog.
  const ids = [...new Set(rows.map((r) => r.release_id))]
  const releases = await scopedReleases(db, principal, request.account.id, { ...filters, ids }, filters.release)
  const byId = new Map(releases.map((r) => [r.row.id, r]))
  const candidates = rows
    .map((row) => ({ row, release: byId.get(row.release_id) }))
    .filter((c): c is LoadedArtifact => c.release !== undefined && artifactInScope(principal, c.release.facts, c.row))
    .sort(
      (a, b) =>
        Number(b.row.id === alias.toLowerCase()) - Number(a.row.id === alias.toLowerCase()) ||
        compareVersions(b.release.row.version, a.release.row.version) ||
        (b.row.created_at < a.row.created_at ? -1 : 1),
    )
  const found = candidates[0]
  if (!found) throw artifactNotFound(alias)
  const decision = canShowRelease(principal, found.release.facts)
  if (!decision.allow) throw forbidden(decision.reason)
  return found
}

export function artifactFiltersFromQuery(query: unknown): ArtifactFilters {
  return {
    ...releaseFiltersFromQuery(query),
    release: param(query, 'release'),
    platform: param(query, 'platform'),
    arch: param(query, 'arch'),
    filetype: param(query, 'filetype'),
    status: param(query, 'status'),
  }
}
