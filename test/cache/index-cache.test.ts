import { describe, expect, it } from 'vitest'
import { cacheKey, IndexCache } from '../../gateway/cache/index-cache.ts'

describe('IndexCache', () => {
  it('loads a missing key once, even for concurrent callers', async () => {
    const cache = new IndexCache<{ n: number }>()
    let loads = 0
    const load = async () => {
      loads++
      await new Promise((r) => setTimeout(r, 10))
      return { n: loads }
    }
    const [a, b] = await Promise.all([cache.getOrLoad('k', load), cache.getOrLoad('k', load)])
    expect(a).toBe(b)
    expect(await cache.getOrLoad('k', load)).toBe(a)
    expect(loads).toBe(1)
  })

  it('does not cache a failed load', async () => {
    const cache = new IndexCache<{ ok: boolean }>()
    await expect(cache.getOrLoad('k', () => Promise.reject(new Error('db down')))).rejects.toThrow('db down')
    expect(await cache.getOrLoad('k', () => ({ ok: true }))).toEqual({ ok: true })
  })

  it('evicts the least recently used entries beyond maxSize', () => {
    const cache = new IndexCache<{ body: string }>({ maxSize: 10, sizeOf: (v) => v.body.length })
    cache.set('a', { body: 'aaaa' })
    cache.set('b', { body: 'bbbb' })
    cache.get('a')
    cache.set('c', { body: 'cccc' })
    expect(cache.get('a')).toEqual({ body: 'aaaa' })
    expect(cache.get('b')).toBeUndefined()
    expect(cache.size).toBe(2)
  })

  it('builds keys whose parts cannot run into each other', () => {
    expect(cacheKey('a', 1, 'b')).not.toBe(cacheKey('a1', 'b'))
    expect(cacheKey('a', 'b c')).toBe(cacheKey('a', 'b c'))
  })
})
