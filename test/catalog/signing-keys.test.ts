import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { Catalog } from '../../gateway/catalog/db.ts'
import {
  CatalogSigningKeys,
  listSigningKeys,
  MAX_URL_LIFETIME_SECONDS,
  openSigningKeys,
  rotateSigningKey,
} from '../../gateway/catalog/signing-keys.ts'
import { signedBlobUrl, verifySignedBlob } from '../../gateway/storage/signed-url.ts'
import { type CatalogKind, catalogKinds, openTestCatalog } from '../helpers/catalog.ts'

const root = mkdtempSync(join(tmpdir(), 'pkgway-keys-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** checkUrl verifies a signed URL the way the blob route does, against the given keys. */
function checkUrl(keys: CatalogSigningKeys, url: string) {
  const u = new URL(url)
  const key = decodeURIComponent(u.pathname.replace(/^\/v1\/blobs\//, ''))
  return verifySignedBlob(keys.accepted(), 'PUT', key, Object.fromEntries(u.searchParams))
}

describe.each(catalogKinds)('signing keys in the catalog on %s', (kind: CatalogKind) => {
  let catalog: Catalog
  const opened: CatalogSigningKeys[] = []
  const open = async (minReloadMs = 0) => {
    const keys = await CatalogSigningKeys.open(catalog.db, { minReloadMs })
    opened.push(keys)
    return keys
  }

  afterEach(async () => {
    for (const k of opened.splice(0)) k.stopRefresh()
    await catalog?.close()
  })

  it('generates one key on first start, and every later start on the same catalog uses it', async () => {
    catalog = await openTestCatalog(kind)
    const [a, b] = await Promise.all([open(), open()])
    expect(a.current()).toMatch(/^[0-9a-f]{64}$/)
    expect(b.current()).toBe(a.current())
    expect((await open()).current()).toBe(a.current())
    expect(await listSigningKeys(catalog.db)).toHaveLength(1)
  })

  it('adopts the secret an older version kept under dataDir, when the catalog has none yet', async () => {
    catalog = await openTestCatalog(kind)
    const dataDir = mkdtempSync(join(root, 'legacy-'))
    const legacy = 'l'.repeat(64)
    writeFileSync(join(dataDir, 'signing-secret'), `${legacy}\n`)
    const keys = await openSigningKeys(catalog.db, { dataDir })
    expect(keys).toBeInstanceOf(CatalogSigningKeys)
    opened.push(keys as CatalogSigningKeys)
    expect((keys as CatalogSigningKeys).current()).toBe(legacy)
  })

  it('uses a configured signingSecret as it is and writes no key', async () => {
    catalog = await openTestCatalog(kind)
    const secret = 'c'.repeat(40)
    expect(await openSigningKeys(catalog.db, { signingSecret: secret, dataDir: root })).toBe(secret)
    expect(await listSigningKeys(catalog.db)).toEqual([])
  })

  it('keeps accepting URLs of the previous key after a rotation, on every instance, until they expire', async () => {
    catalog = await openTestCatalog(kind)
    const a = await open()
    const b = await open()
    const before = signedBlobUrl(a.current(), 'http://gw/', 'PUT', 'artifacts/x/y/z.bin', 3600)
    const generation = await rotateSigningKey(catalog.db, MAX_URL_LIFETIME_SECONDS)
    expect(generation).toBe(2)
    // A learns of the rotation at its next reload; B has not reloaded yet.
    expect(await a.reload()).toBe(true)
    const after = signedBlobUrl(a.current(), 'http://gw/', 'PUT', 'artifacts/x/y/z.bin', 3600)
    expect(a.current()).not.toBe(b.current())
    expect(checkUrl(a, before)).toBe('ok')
    expect(checkUrl(b, before)).toBe('ok')
    expect(checkUrl(a, after)).toBe('ok')
    // B does not know the new key: the blob route reloads on a miss, and then accepts it.
    expect(checkUrl(b, after)).toBe('invalid')
    expect(await b.reload()).toBe(true)
    expect(checkUrl(b, after)).toBe('ok')
    expect(b.accepted()).toEqual([a.current(), expect.any(String)])
  })

  it('stops accepting a retired key once its acceptance ends, and forgets it at the next rotation', async () => {
    catalog = await openTestCatalog(kind)
    const keys = await open()
    const old = signedBlobUrl(keys.current(), 'http://gw/', 'PUT', 'artifacts/x/y/z.bin', 3600)
    await rotateSigningKey(catalog.db, 0)
    await keys.reload()
    expect(checkUrl(keys, old)).toBe('invalid')
    expect(keys.accepted()).toHaveLength(1)
    await rotateSigningKey(catalog.db, 60)
    expect(
      (await catalog.db.selectFrom('signing_keys').select('generation').execute())
        .map((r) => Number(r.generation))
        .sort(),
    ).toEqual([2, 3])
  })

  it('reloads at most once a second, so bad signatures cannot flood the catalog', async () => {
    catalog = await openTestCatalog(kind)
    const keys = await open(1000)
    await rotateSigningKey(catalog.db, 60)
    // open() loaded the keys just now: a reload right away is refused.
    expect(await keys.reload()).toBe(false)
    await new Promise((resolve) => setTimeout(resolve, 1100))
    expect(await keys.reload()).toBe(true)
  })
})
