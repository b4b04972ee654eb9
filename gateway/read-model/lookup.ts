import { artifactInScope, canShowRelease, packageInScope, releaseInScope } from '../auth/policy.ts'
import type { Principal } from '../auth/principal.ts'
import { isUuid } from '../catalog/accounts.ts'
import type { ArtifactRow, Channel, EngineRow, EntitlementRow, PackageRow, ProductRow } from '../catalog/types.ts'
import { channelsFor, compareVersions } from '../catalog/versions.ts'
import { forbidden, notFound } from '../errors.ts'
import type { AccountSnapshot, LoadedArtifact, LoadedRelease } from './account-snapshot.ts'

/**
 * Lookups by id or alias over an {@link AccountSnapshot}, shared by the API and every engine. Pure: they take the
 * snapshot, the principal and `now`, never a request. Every lookup applies the caller's scope first, so what the
 * caller may not see is a 404 "not found", never a 403 that would leak its existence.
 * see: ../shared/spec/management-api.md §0 "Lookup by alias" and §4
 */

/** findProduct resolves a product by UUID or code (case-insensitive); the oldest wins a clash. */
export function findProduct(snap: AccountSnapshot, idOrCode: string): ProductRow | undefined {
  const wanted = idOrCode.toLowerCase()
  return isUuid(idOrCode) ? snap.productsById.get(wanted) : snap.productsByCode.get(wanted)
}

/** findPackage resolves a package by UUID or key. */
export function findPackage(snap: AccountSnapshot, idOrKey: string): PackageRow | undefined {
  return isUuid(idOrKey) ? snap.packagesById.get(idOrKey.toLowerCase()) : snap.packagesByKey.get(idOrKey)
}

/** findEntitlement resolves an entitlement by UUID or code (case-insensitive). */
export function findEntitlement(snap: AccountSnapshot, idOrCode: string): EntitlementRow | undefined {
  const wanted = idOrCode.toLowerCase()
  return isUuid(idOrCode) ? snap.entitlementsById.get(wanted) : snap.entitlementsByCode.get(wanted)
}

/** packagesOfEngine is the set of package ids using an engine (key or UUID; '' means packages without one). */
export function packagesOfEngine(snap: AccountSnapshot, engine: string): Set<string> {
  let key: string | null = engine === '' ? null : engine
  if (isUuid(engine)) {
    const row = snap.engines.find((e) => e.id === engine.toLowerCase())
    if (!row) return new Set()
    key = row.key
  }
  return new Set(snap.packages.filter((p) => p.engine === key).map((p) => p.id))
}

/** entitlementIdsOf resolves entitlement codes (or ids) to ids; unknown ones are left out. */
export function entitlementIdsOf(snap: AccountSnapshot, codes: readonly string[]): Set<string> {
  const out = new Set<string>()
  for (const code of codes) {
    const row =
      snap.entitlementsByCode.get(code.toLowerCase()) ??
      (isUuid(code) ? snap.entitlementsById.get(code.toLowerCase()) : undefined)
    if (row) out.add(row.id)
  }
  return out
}

/**
 * visibleEngines lists the account's engines that have at least one package the caller can see; an engine no
 * visible package uses is invisible to everyone, admins included. see: ../shared/spec/engines.md §2.1
 */
export function visibleEngines(snap: AccountSnapshot, principal: Principal, productId?: string): EngineRow[] {
  const used = new Set<string>()
  for (const p of snap.packages) {
    if (p.engine === null || (productId !== undefined && p.product_id !== productId)) continue
    const product = snap.productsById.get(p.product_id)
    if (product && packageInScope(principal, { productId: p.product_id, strategy: product.distribution_strategy })) {
      used.add(p.engine)
    }
  }
  return snap.engines.filter((e) => used.has(e.key))
}

export const releaseNotFound = (alias: string) => notFound(`The requested release '${alias}' was not found`)
export const artifactNotFound = (alias: string) => notFound(`The requested artifact '${alias}' was not found`)

export interface ReleaseFilters {
  /** Product UUID or code. */
  product?: string
  /** Package UUID or key; '' means releases without a package. */
  package?: string
  channel?: Channel
}

export interface ArtifactFilters extends ReleaseFilters {
  /** Release UUID, version or tag. */
  release?: string
  platform?: string
  arch?: string
  filetype?: string
  status?: string
}

/** A release filter as a predicate; null means "matches nothing" (an unknown product or package alias). */
function releasePredicate(snap: AccountSnapshot, f: ReleaseFilters): ((r: LoadedRelease) => boolean) | null {
  let productId: string | undefined
  let packageId: string | null | undefined
  // A UUID needs no lookup: an unknown one simply matches nothing.
  if (f.product !== undefined) {
    productId = isUuid(f.product) ? f.product.toLowerCase() : findProduct(snap, f.product)?.id
    if (!productId) return null
  }
  if (f.package === '') packageId = null
  else if (f.package !== undefined) {
    packageId = isUuid(f.package) ? f.package.toLowerCase() : findPackage(snap, f.package)?.id
    if (!packageId) return null
  }
  const channels = f.channel ? new Set(channelsFor(f.channel)) : null
  return (r) =>
    (productId === undefined || r.row.product_id === productId) &&
    (packageId === undefined || r.row.package_id === packageId) &&
    (channels === null || channels.has(r.row.channel))
}

/** aliasMatches: a release matches `:id|version|tag`. */
function aliasMatches(r: LoadedRelease, alias: string): boolean {
  return r.row.version === alias || r.row.tag === alias || (isUuid(alias) && r.row.id === alias.toLowerCase())
}

/** scopedReleases lists the releases matching the filters (and alias) that the principal may see, oldest first. */
export function scopedReleases(
  snap: AccountSnapshot,
  principal: Principal,
  filters: ReleaseFilters,
  alias?: string,
  now: number = Date.now(),
): LoadedRelease[] {
  const matches = releasePredicate(snap, filters)
  if (!matches) return []
  const candidates =
    alias !== undefined && isUuid(alias)
      ? snap.releases.filter((r) => aliasMatches(r, alias))
      : alias !== undefined
        ? snap.releases.filter((r) => r.row.version === alias || r.row.tag === alias)
        : snap.releases
  return candidates.filter((r) => matches(r) && releaseInScope(principal, r.facts, now))
}

/**
 * findRelease resolves `:id|version|tag` within the caller's scope (oldest wins, an id match first) and applies
 * the show rule: invisible → 404, visible but denied → 403.
 */
export function findRelease(
  snap: AccountSnapshot,
  principal: Principal,
  alias: string,
  filters: ReleaseFilters = {},
  now: number = Date.now(),
): LoadedRelease {
  const matches = scopedReleases(snap, principal, filters, alias, now)
  const found = matches.find((r) => r.row.id === alias.toLowerCase()) ?? matches[0]
  if (!found) throw releaseNotFound(alias)
  const decision = canShowRelease(principal, found.facts, now)
  if (!decision.allow) throw forbidden(decision.reason)
  return found
}

/** artifactPredicate applies the platform, arch, filetype and status filters ('' matches "none"). */
function artifactPredicate(f: ArtifactFilters): (a: ArtifactRow) => boolean {
  const lower = (v: string | undefined) => (v === undefined ? undefined : v.toLowerCase())
  const filetype = f.filetype === undefined ? undefined : f.filetype.replace(/^\./, '').toLowerCase()
  const checks: [keyof ArtifactRow, string | undefined][] = [
    ['platform', lower(f.platform)],
    ['arch', lower(f.arch)],
    ['filetype', filetype],
  ]
  const status = f.status?.toUpperCase()
  return (a) =>
    (status === undefined || a.status === status) &&
    checks.every(([column, v]) => v === undefined || a[column] === (v === '' ? null : v))
}

/**
 * listReleases is what a list shows: the releases in scope that the show rule allows too, so a list never shows
 * what a single read would deny (a suspended license, an expired REVOKE_ACCESS one, a banned owner list nothing).
 */
export function listReleases(
  snap: AccountSnapshot,
  principal: Principal,
  filters: ReleaseFilters,
  alias?: string,
  now: number = Date.now(),
): LoadedRelease[] {
  return scopedReleases(snap, principal, filters, alias, now).filter(
    (r) => canShowRelease(principal, r.facts, now).allow,
  )
}

/**
 * listArtifacts lists the artifacts the principal may see and be shown among the releases matching the filters
 * (and the release alias), oldest first.
 */
export function listArtifacts(
  snap: AccountSnapshot,
  principal: Principal,
  filters: ArtifactFilters,
  now: number = Date.now(),
): LoadedArtifact[] {
  const matches = artifactPredicate(filters)
  const out: LoadedArtifact[] = []
  for (const release of listReleases(snap, principal, filters, filters.release, now)) {
    for (const row of snap.artifactsByRelease.get(release.row.id) ?? []) {
      if (matches(row) && artifactInScope(principal, release.facts, row, now)) out.push({ row, release })
    }
  }
  return out.sort((a, b) => (a.row.created_at < b.row.created_at ? -1 : a.row.created_at > b.row.created_at ? 1 : 0))
}

/**
 * findArtifact resolves an artifact by UUID or exact filename among the artifacts the caller may see; by
 * filename, the highest release version wins, then the newest artifact. Invisible → 404; visible but denied → 403.
 */
export function findArtifact(
  snap: AccountSnapshot,
  principal: Principal,
  alias: string,
  filters: ArtifactFilters = {},
  now: number = Date.now(),
): LoadedArtifact {
  const id = isUuid(alias) ? alias.toLowerCase() : null
  const byId = id === null ? undefined : snap.artifactsById.get(id)
  const rows = [...(byId ? [byId] : []), ...(snap.artifactsByFilename.get(alias) ?? [])].filter(
    artifactPredicate(filters),
  )
  const releaseOk = releasePredicate(snap, filters)
  const candidates: LoadedArtifact[] = []
  if (releaseOk) {
    for (const row of rows) {
      const release = snap.releasesById.get(row.release_id)
      if (!release || !releaseOk(release)) continue
      if (filters.release !== undefined && !aliasMatches(release, filters.release)) continue
      if (releaseInScope(principal, release.facts, now) && artifactInScope(principal, release.facts, row, now)) {
        candidates.push({ row, release })
      }
    }
  }
  candidates.sort(
    (a, b) =>
      Number(b.row.id === id) - Number(a.row.id === id) ||
      compareVersions(b.release.row.version, a.release.row.version) ||
      (b.row.created_at < a.row.created_at ? -1 : 1),
  )
  const found = candidates[0]
  if (!found) throw artifactNotFound(alias)
  const decision = canShowRelease(principal, found.release.facts, now)
  if (!decision.allow) throw forbidden(decision.reason)
  return found
}
