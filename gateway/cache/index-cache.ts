import { LRUCache } from 'lru-cache'
import { cacheLookupRecorder } from '../metrics.ts'

/** Options of an {@link IndexCache}; every limit is optional and defaults to a small, bounded cache. */
export interface IndexCacheOptions<V> {
  /** Most entries kept (default 1000). */
  max?: number
  /** Upper bound of the summed {@link sizeOf} of all entries (default 64 MiB). */
  maxSize?: number
  /** Approximate size of one value in bytes (default 1024 per entry). */
  sizeOf?: (value: V) => number
  /** Lifetime of an entry in milliseconds; entries live until evicted when absent. */
  ttlMs?: number
  /** Name in the metrics (`pkgway_cache_lookups_total{cache="<name>"}`); lookups are not counted without one. */
  name?: string
}

/**
 * IndexCache is a small LRU of rendered metadata (index pages, packuments, compact index bodies) keyed by
 * string. Callers put everything a value depends on into the key (account id, account revision, principal
 * class, package, representation), so a catalog write is visible on the next request: the new
 * revision simply misses, and stale entries age out of the LRU. Nothing is ever invalidated explicitly.
 */
export class IndexCache<V extends object> {
  readonly #lru: LRUCache<string, V>
  readonly #loading = new Map<string, Promise<V>>()
  readonly #record: ((hit: boolean) => void) | undefined

  constructor(opts: IndexCacheOptions<V> = {}) {
    this.#record = opts.name === undefined ? undefined : cacheLookupRecorder(opts.name)
    const sizeOf = opts.sizeOf ?? (() => 1024)
    this.#lru = new LRUCache<string, V>({
      max: opts.max ?? 1000,
      maxSize: opts.maxSize ?? 64 * 1024 * 1024,
      sizeCalculation: (value) => Math.max(1, Math.ceil(sizeOf(value))),
      ...(opts.ttlMs ? { ttl: opts.ttlMs } : {}),
    })
  }

  /** Get returns the cached value for key, or undefined. */
  get(key: string): V | undefined {
    return this.#counted(this.#lru.get(key))
  }

  /** Set stores value under key; a value larger than maxSize is simply not kept. */
  set(key: string, value: V): void {
    this.#lru.set(key, value)
  }

  /**
   * GetOrLoad returns the cached value, or runs load once and caches its result. Concurrent callers for the
   * same key share one load, so a burst of requests for a cold page renders it once. A failed load is not
   * cached. A hit is returned as it is, not wrapped in a promise: hot requests skip a microtask.
   */
  getOrLoad(key: string, load: () => Promise<V> | V): V | Promise<V> {
    const hit = this.#counted(this.#lru.get(key))
    if (hit !== undefined) return hit
    const pending = this.#loading.get(key)
    if (pending) return pending
    const promise = (async () => {
      try {
        const value = await load()
        this.#lru.set(key, value)
        return value
      } finally {
        this.#loading.delete(key)
      }
    })()
    this.#loading.set(key, promise)
    return promise
  }

  /** counted records a lookup's result in the metrics when the cache has a name, and returns it. */
  #counted(value: V | undefined): V | undefined {
    this.#record?.(value !== undefined)
    return value
  }

  /** Size is the number of entries currently cached. */
  get size(): number {
    return this.#lru.size
  }

  clear(): void {
    this.#lru.clear()
  }
}

/** cacheKey joins key parts with a separator that cannot occur in ids, names or URLs. */
export function cacheKey(...parts: ReadonlyArray<string | number>): string {
  let key = parts.length === 0 ? '' : String(parts[0])
  for (let i = 1; i < parts.length; i++) key += `\u0000${parts[i]}`
  return key
}
