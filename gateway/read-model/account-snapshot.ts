import { LRUCache } from 'lru-cache'
import type { ReleaseFacts } from '../auth/policy.ts'
import type { AccountRows } from '../catalog/account-rows.ts'
import { isCatalogUnavailable } from '../catalog/health.ts'
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

/** Counts the snapshots this process has loaded: each one's {@link AccountSnapshot.serial}. */
let loaded = 0

/** A memoized value; entries are compared by identity, so a failed derivation forgets only its own. */
interface Memo {
  value: unknown
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
  /**
   * Unique to this load of the account: what is derived from the snapshot and cached elsewhere (rendered pages)
   * is keyed by it, so that nothing derived from one load is ever taken for another's.
   */
  readonly serial = ++loaded
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
  readonly #rowsSize: number
  readonly #memo = new LRUCache<string, Memo>({ max: 2000 })
  /** The snapshot this one replaced, and how to make it current again; see {@link succeed}. */
  #replaced: { snapshot: AccountSnapshot; restore: () => void } | undefined
  /** Why a derivation fell back to the replaced snapshot, once one did; see {@link memo}. */
  #fellBack: unknown

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
    this.#rowsSize =
      2048 +
      512 * (rows.products.length + rows.packages.length + rows.entitlements.length + rows.engines.length) +
      768 * rows.releases.length +
      1024 * rows.artifacts.length +
      128 * rows.constraints.length
  }

  /** Approximate memory of the rows (with those of the snapshot it replaced), for the snapshot cache's bound. */
  get size(): number {
    const replaced = this.#replaced?.snapshot
    return this.#rowsSize + (replaced === undefined ? 0 : replaced.#rowsSize)
  }

  /**
   * succeed records that this snapshot replaces previous as the account's current one. Until this one is replaced
   * in turn, previous stands in for it while the catalog cannot be reached (see {@link memo}); restore makes
   * previous current again.
   */
  succeed(previous: AccountSnapshot, restore: () => void): void {
    previous.#replaced = undefined
    this.#replaced = { snapshot: previous, restore }
  }

  /**
   * Memo returns the value derived under key from this snapshot, computing it once. A promise is memoized like any
   * value; a rejected one is forgotten so the next caller retries.
   *
   * Values derived asynchronously read the catalog. When it cannot be reached, the value the replaced snapshot
   * derived under the same key answers instead (stale if error) and that snapshot becomes current again. From then
   * on every value this snapshot derives asynchronously is the replaced one's too, or fails: a value derived from
   * one that fell back would mix two revisions.
   */
  memo<T>(key: string, derive: () => T): T {
    const hit = this.#memo.get(key)
    if (hit) return hit.value as T
    const derived = derive()
    if (!(derived instanceof Promise)) {
      this.#memo.set(key, { value: derived })
      return derived
    }
    const entry: Memo = { value: undefined }
    entry.value = derived.then(
      (value) => (this.#fellBack === undefined ? value : this.#fallBack(key, entry, this.#fellBack)),
      (err: unknown) => this.#fallBack(key, entry, err),
    )
    this.#memo.set(key, entry)
    return entry.value as T
  }

  /** fallBack answers a failed derivation with the replaced snapshot's value, when that is allowed, or throws. */
  #fallBack(key: string, entry: Memo, err: unknown): unknown {
    if (this.#memo.peek(key) === entry) this.#memo.delete(key)
    const replaced = this.#replaced
    const earlier = replaced === undefined ? undefined : replaced.snapshot.#memo.peek(key)
    if (replaced === undefined || earlier === undefined || !isCatalogUnavailable(err)) throw err
    this.#fellBack = err
    replaced.restore()
    return earlier.value
  }
}
