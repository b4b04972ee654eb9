import type { FastifyRequest } from 'fastify'
import { canManageProduct } from '../auth/policy.ts'
import { CHANNELS, type Channel } from '../catalog/types.ts'
import { forbidden } from '../errors.ts'
import type { AccountSnapshot, LoadedArtifact, LoadedRelease } from '../read-model/account-snapshot.ts'
import * as read from '../read-model/lookup.ts'
import { param } from './pagination.ts'

/**
 * The API's side of the read model (gateway/read-model): the request's account snapshot and principal fed to the
 * shared lookups. see: ../shared/spec/management-api.md §0 "Lookup by alias" and §4
 */

export {
  type ArtifactFilters,
  artifactNotFound,
  entitlementIdsOf,
  findEntitlement,
  findPackage,
  findProduct,
  packagesOfEngine,
  type ReleaseFilters,
  releaseNotFound,
} from '../read-model/lookup.ts'
export type { LoadedArtifact, LoadedRelease }

/** snapshotOf is the request's account content at the newest revision this instance knows. */
export async function snapshotOf(request: FastifyRequest): Promise<AccountSnapshot> {
  return request.server.readModel.snapshot(request.account.id)
}

/** scopedReleases lists the releases matching the filters (and alias) that the caller may see, oldest first. */
export async function scopedReleases(
  request: FastifyRequest,
  filters: read.ReleaseFilters,
  alias?: string,
): Promise<LoadedRelease[]> {
  return read.scopedReleases(await snapshotOf(request), request.principal, filters, alias)
}

/** listReleases is what a release list shows the caller (scope and show rule). */
export async function listReleases(request: FastifyRequest, filters: read.ReleaseFilters): Promise<LoadedRelease[]> {
  return read.listReleases(await snapshotOf(request), request.principal, filters)
}

/** listArtifacts is what an artifact list shows the caller (scope and show rule). */
export async function listArtifacts(request: FastifyRequest, filters: read.ArtifactFilters): Promise<LoadedArtifact[]> {
  return read.listArtifacts(await snapshotOf(request), request.principal, filters)
}

/** findRelease resolves `:id|version|tag` for the caller: invisible → 404, visible but denied → 403. */
export async function findRelease(
  request: FastifyRequest,
  alias: string,
  filters: read.ReleaseFilters = {},
): Promise<LoadedRelease> {
  return read.findRelease(await snapshotOf(request), request.principal, alias, filters)
}

/** findManageableRelease is findRelease for writes: the caller must also manage the release's product. */
export async function findManageableRelease(request: FastifyRequest, alias: string, filters: read.ReleaseFilters = {}) {
  const release = await findRelease(request, alias, filters)
  if (!canManageProduct(request.principal, release.row.product_id)) throw forbidden()
  return release
}

/** findArtifact resolves an artifact by UUID or filename for the caller: invisible → 404, denied → 403. */
export async function findArtifact(
  request: FastifyRequest,
  alias: string,
  filters: read.ArtifactFilters = {},
): Promise<LoadedArtifact> {
  return read.findArtifact(await snapshotOf(request), request.principal, alias, filters)
}

/** releaseFiltersFromQuery reads `product`, `package` and `channel` query parameters. */
export function releaseFiltersFromQuery(query: unknown): read.ReleaseFilters {
  const channel = param(query, 'channel')
  return {
    product: param(query, 'product'),
    package: param(query, 'package'),
    channel: channel && CHANNELS.includes(channel as Channel) ? (channel as Channel) : undefined,
  }
}

export function artifactFiltersFromQuery(query: unknown): read.ArtifactFilters {
  return {
    ...releaseFiltersFromQuery(query),
    release: param(query, 'release'),
    platform: param(query, 'platform'),
    arch: param(query, 'arch'),
    filetype: param(query, 'filetype'),
    status: param(query, 'status'),
  }
}
