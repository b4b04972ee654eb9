import { LRUCache } from 'lru-cache'
import type { ReleaseFacts } from '../auth/policy.ts'
import type { AccountRows } from '../catalog/account-rows.ts'
import type { ArtifactRow, EngineRow, EntitlementRow, PackageRow, ProductRow, ReleaseRow } from '../catalog/types.ts'

/** A release with the facts the policy needs. */
export interface LoadedRelease {
  row: ReleaseRow
  facts: ReleaseFacts
}

/** An artifact with its release. */
export interface LoadedArtifact {
  row: ArtifactRow
  release: LoadedRelease
}

/** firstBy indexes rows by a key; the first row (the oldest: rows come oldest first) wins a clash. */
function firstBy<T>(rows: readonly T[], key: (row: T) => string | null): Map<string, T> {
  const out = new Map<string, T>()
  for (const row of rows) {
    const k = key(row)
    if (k !== null && !out.has(k)) out.set(k, row)
  }
  return out
}

function groupBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>()
  for (const row of rows) {
    const k = key(row)
    const list = out.get(k)
    if (list) list.push(row)
    else out.set(k, [row])
  }
  return out
}

/**
 * AccountSnapshot is an immutable, indexed view of one account's content at one content revision: products,
 * packages, entitlements, engines, releases (with their policy facts) and artifacts. Every lookup of the API
 * and the engines is a map access or a scan over it; nothing here does I/O. Values derived from it (visible
 * release lists, rendered pages, manifests) are memoized on it with {@link memo}, so they live exactly as long
 * as the revision they were derived from.
 */
export class AccountSnapshot {
  readonly accountId: string
  readonly revision: number
  readonly products: readonly ProductRow[]
  readonly packages: readonly PackageRow[]
  readonly entitlements: readonly EntitlementRow[]
  readonly engines: readonly EngineRow[]
  /** Oldest first. */
  readonly releases: readonly LoadedRelease[]
  /** Oldest first. */
  readonly artifacts: readonly ArtifactRow[]

  readonly productsById: ReadonlyMap<string, ProductRow>
  /** By lower-cased code. */
  readonly productsByCode: ReadonlyMap<string, ProductRow>
  readonly packagesById: ReadonlyMap<string, PackageRow>
  readonly packagesByKey: ReadonlyMap<string, PackageRow>
  readonly entitlementsById: ReadonlyMap<string, EntitlementRow>
  /** By lower-cased code. */
  readonly entitlementsByCode: ReadonlyMap<string, EntitlementRow>
  readonly releasesById: ReadonlyMap<string, LoadedRelease>
  readonly artifactsById: ReadonlyMap<string, ArtifactRow>
  readonly artifactsByFilename: ReadonlyMap<string, readonly ArtifactRow[]>
  readonly artifactsByRelease: ReadonlyMap<string, readonly ArtifactRow[]>
  /** Approximate memory of the rows, for the snapshot cache's bound. */
  readonly size: number

  readonly #memo = new LRUCache<string, { value: unknown }>({ max: 2000 })

  constructor(accountId: string, rows: AccountRows) {
    this.accountId = accountId
    this.revision = rows.revisions.content
    this.products = rows.products
    this.packages = rows.packages
    this.entitlements = rows.entitlements
    this.engines = rows.engines
    this.artifacts = rows.artifacts
    this.productsById = new Map(rows.products.map((p) => [p.id, p]))
    this.productsByCode = firstBy(rows.products, (p) => p.code_key)
    this.packagesById = new Map(rows.packages.map((p) => [p.id, p]))
    this.packagesByKey = firstBy(rows.packages, (p) => p.key)
    this.entitlementsById = new Map(rows.entitlements.map((e) => [e.id, e]))
    this.entitlementsByCode = firstBy(rows.entitlements, (e) => e.code_key)
    const constraints = groupBy(rows.constraints, (c) => c.release_id)
    this.releases = rows.releases.map((row) => ({
      row,
      facts: {
        productId: row.product_id,
        strategy: this.productsById.get(row.product_id)?.distribution_strategy ?? 'CLOSED',
        status: row.status,
        constraintIds: (constraints.get(row.id) ?? []).map((c) => c.entitlement_id),
        createdAt: row.created_at,
        backdatedTo: row.backdated_to,
      },
    }))
    this.releasesById = new Map(this.releases.map((r) => [r.row.id, r]))
    this.artifactsById = new Map(rows.artifacts.map((a) => [a.id, a]))
    this.artifactsByFilename = groupBy(rows.artifacts, (a) => a.filename)
    this.artifactsByRelease = groupBy(rows.artifacts, (a) => a.release_id)
    this.size =
      2048 +
      512 * (rows.products.length + rows.packages.length + rows.entitlements.length + rows.engines.length) +
      768 * rows.releases.length +
      1024 * rows.artifacts.length +
      128 * rows.constraints.length
  }

  /**
   * Memo returns the value derived under key from this snapshot, computing it once (a promise is memoized
   * like any value; a rejected one is forgotten so the next caller retries).
   */
  memo<T>(key: string, derive: () => T): T {
    const hit = this.#memo.get(key)
    if (hit) return hit.value as T
    const value = derive()
    this.#memo.set(key, { value })
    if (value instanceof Promise) value.catch(() => this.#memo.delete(key))
    return value
  }
}
