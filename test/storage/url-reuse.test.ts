import { mkdtempSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { BlobStore } from '../../gateway/storage/blob-store.ts'
import { FilesystemStore } from '../../gateway/storage/filesystem-store.ts'
import { withUrlReuse } from '../../gateway/storage/url-reuse.ts'

describe('withUrlReuse', () => {
  const root = mkdtempSync(join(tmpdir(), 'pkgway-reuse-'))
  let store: BlobStore
  let signed = 0

  beforeAll(() => {
    const inner = new FilesystemStore({ root, signingSecret: 's'.repeat(32), presignTtl: 900, uploadTtl: 3600 })
    const counting: BlobStore = Object.assign(Object.create(inner), {
      redirectUrl: (...args: Parameters<BlobStore['redirectUrl']>) => {
        signed++
        return inner.redirectUrl(...args)
      },
    })
    store = withUrlReuse(counting, 900)
  })
  afterEach(() => vi.useRealTimers())
  afterAll(() => rm(root, { recursive: true, force: true }))

  const url = () => store.redirectUrl('artifacts/a/r/app.tgz', 'GET', { baseUrl: '/', filename: 'app.tgz' })

  it('hands out the same URL while more than half its lifetime is left, then signs a new one', async () => {
    vi.useFakeTimers({ now: new Date('2026-12-01T00:00:00Z') })
    const before = signed
    const first = await url()
    vi.setSystemTime(new Date('2026-12-01T00:07:29Z'))
    expect(await url()).toBe(first)
    expect(signed - before).toBe(1)
    vi.setSystemTime(new Date('2026-12-01T00:07:31Z'))
    const second = await url()
    expect(second).not.toBe(first)
    expect(signed - before).toBe(2)
    // Whatever is handed out has at least half of its 900 s ahead.
    expect(Number(new URL(second, 'http://x').searchParams.get('expires')) * 1000 - Date.now()).toBeGreaterThanOrEqual(
      450_000,
    )
  })

  it('keeps URLs of other lifetimes and filenames apart', async () => {
    const get = await url()
    const ttl = await store.redirectUrl('artifacts/a/r/app.tgz', 'GET', { baseUrl: '/', filename: 'app.tgz', ttl: 60 })
    const other = await store.redirectUrl('artifacts/a/r/app.tgz', 'GET', { baseUrl: '/', filename: 'x.tgz' })
    expect(new Set([get, ttl, other]).size).toBe(3)
  })

  it('signs anew after the key is written or deleted', async () => {
    const first = await url()
    await store.write('artifacts/a/r/app.tgz', Buffer.from('x'))
    vi.useFakeTimers({ now: Date.now() + 1000 })
    const second = await url()
    expect(second).not.toBe(first)
    await store.delete('artifacts/a/r/app.tgz')
    vi.setSystemTime(Date.now() + 1000)
    expect(await url()).not.toBe(second)
  })
})
