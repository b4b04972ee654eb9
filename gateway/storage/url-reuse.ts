import type { Readable } from 'node:stream'
import { LRUCache } from 'lru-cache'
import type { BlobInfo, BlobStore, ReadOptions, UrlOptions, WriteOptions } from './blob-store.ts'

interface Issued {
  url: string
  /** Epoch ms after which the URL is not handed out again (half its lifetime). */
  reuseUntil: number
}

/**
 * withUrlReuse wraps a store so that a download URL is signed once and handed out again while more than half of
 * its lifetime is left: a warm redirect then costs a map lookup, not a SigV4 or HMAC signature, and clients get a
 * stable Location (good for CDN and client caches). Every URL handed out still has at least half its lifetime
 * ahead. Writes, copies, moves and deletes drop the URLs of the keys they change. Upload URLs are never reused.
 */
export function withUrlReuse(store: BlobStore, defaultTtl: number, max = 100_000): BlobStore {
  const byKey = new Map<string, Set<string>>()
  const issued = new LRUCache<string, Issued>({
    max,
    dispose: (_value, cacheKey) => {
      // Keys never contain NUL (validateKey), so the blob key is what follows the last one.
      const key = cacheKey.slice(cacheKey.lastIndexOf('\u0000') + 1)
      const keys = byKey.get(key)
      keys?.delete(cacheKey)
      if (keys?.size === 0) byKey.delete(key)
    },
  })
  const forget = (key: string) => {
    for (const k of [...(byKey.get(key) ?? [])]) issued.delete(k)
  }
  return {
    name: store.name,
    stat: (key: string): Promise<BlobInfo> => store.stat(key),
    read: (key: string, opts?: ReadOptions): Promise<Readable> => store.read(key, opts),
    async write(key: string, body: Readable | Buffer, opts?: WriteOptions) {
      forget(key)
      return store.write(key, body, opts)
    },
    async copy(from: string, to: string, opts?: { signal?: AbortSignal }) {
      forget(to)
      return store.copy(from, to, opts)
    },
    async move(from: string, to: string, opts?: { signal?: AbortSignal }) {
      forget(from)
      forget(to)
      return store.move(from, to, opts)
    },
    async delete(key: string) {
      forget(key)
      return store.delete(key)
    },
    list: (prefix: string) => store.list(prefix),
    async redirectUrl(key: string, method: 'GET' | 'HEAD', opts: UrlOptions) {
      const ttl = opts.ttl ?? defaultTtl
      const cacheKey = `${method}\u0000${ttl}\u0000${opts.filename ?? ''}\u0000${opts.baseUrl}\u0000${key}`
      const now = Date.now()
      const hit = issued.get(cacheKey)
      if (hit && now < hit.reuseUntil) return hit.url
      const url = await store.redirectUrl(key, method, opts)
      issued.set(cacheKey, { url, reuseUntil: now + (ttl * 1000) / 2 })
      const keys = byKey.get(key) ?? new Set<string>()
      byKey.set(key, keys.add(cacheKey))
      return url
    },
    uploadUrl: (key: string, opts: UrlOptions) => store.uploadUrl(key, opts),
    check: () => store.check(),
  }
}
