import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ArtifactRow, PackageRow, ProductRow, ReleaseRow } from '../../gateway/catalog/types.ts'
import { artifactKey } from '../../gateway/storage/keys.ts'
import { createTestGateway, type TestGateway } from '../helpers/app.ts'
import {
  seedArtifact,
  seedEntitlement,
  seedLicense,
  seedPackage,
  seedPolicy,
  seedProduct,
  seedRelease,
  seedToken,
} from '../helpers/seed.ts'

/** The artifact download route (engines.md §3) and the Raw engine (engines.md §2.7, §4.15). */

let gw: TestGateway
let cli: ProductRow
let relay: ProductRow
let relayPkg: PackageRow
let r100: ReleaseRow
let r110: ReleaseRow
let draft: ReleaseRow
let yanked: ReleaseRow
let binary: ArtifactRow
let waiting: ArtifactRow
const KEY = 'TEST-KEY-0001'
const ENTITLED_KEY = 'TEST-KEY-0002'
let productToken: string
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`

beforeAll(async () => {
  gw = await createTestGateway()
  const db = gw.catalog.db
  const account = gw.account
  cli = await seedProduct(db, account, { code: 'cli' })
  relay = await seedProduct(db, account, { code: 'relay' })
  relayPkg = await seedPackage(db, account, { product: relay, key: 'relay', engine: 'raw' })
  const insider = await seedEntitlement(db, account, { code: 'INSIDER' })
  const policy = await seedPolicy(db, account, { product: cli, authenticationStrategy: 'MIXED' })
  await seedLicense(db, account, { policy, key: KEY })
  const relayPolicy = await seedPolicy(db, account, { product: relay, authenticationStrategy: 'LICENSE' })
  await seedLicense(db, account, { policy: relayPolicy, key: ENTITLED_KEY, entitlements: [insider] })
  productToken = (await seedToken(db, account, { bearerType: 'product', bearer: cli })).raw
  r100 = await seedRelease(db, account, { product: cli, version: '1.0.0', status: 'PUBLISHED' })
  r110 = await seedRelease(db, account, { product: cli, version: '1.1.0', status: 'PUBLISHED', tag: 'latest' })
  draft = await seedRelease(db, account, { product: cli, version: '1.2.0-beta.1', channel: 'beta', status: 'DRAFT' })
  yanked = await seedRelease(db, account, { product: cli, version: '0.9.0', status: 'YANKED' })
  const constrained = await seedRelease(db, account, {
    product: relay,
    package: relayPkg,
    version: '1.0.0',
    status: 'PUBLISHED',
    constraints: [insider],
  })
  const put = async (release: ReleaseRow, filename: string, status: ArtifactRow['status'] = 'UPLOADED') => {
    const row = await seedArtifact(db, account, { release, filename, status })
    await gw.blobs.write(artifactKey(account.id, release.id, filename), Buffer.from(`${release.version}:${filename}`))
    return row
  }
  await put(r100, 'keygen_linux_amd64')
  binary = await put(r110, 'keygen_linux_amd64')
  await put(r110, 'docs/install guide.txt')
  await put(draft, 'keygen_linux_amd64')
  await put(yanked, 'keygen_linux_amd64')
  waiting = await put(r110, 'keygen_windows_386.exe', 'WAITING')
  await put(constrained, 'relay_linux_amd64')
})
afterAll(async () => {
  await gw?.close()
})

const get = (url: string, authorization?: string, headers: Record<string, string> = {}) =>
  gw.app.inject({ method: 'GET', url, headers: { ...(authorization ? { authorization } : {}), ...headers } })

/** follow fetches a signed blob URL the way a client following the redirect would. */
async function follow(location: string) {
  const u = new URL(location, 'http://localhost')
  return gw.app.inject({ method: 'GET', url: u.pathname + u.search })
}

describe('GET /v1/engines/raw/:product/[@:package/]:release/:artifact', () => {
  it('answers 303 to the vanity artifact URL for a license key, and the bytes come two hops later', async () => {
    const res = await get('/v1/engines/raw/cli/1.1.0/keygen_linux_amd64', basic('license', KEY))
    expect(res.statusCode).toBe(303)
    expect(res.headers.location).toBe(`/v1/accounts/${gw.account.id}/artifacts/${binary.id}/keygen_linux_amd64`)
    const hop = await get(new URL(res.headers.location as string, 'http://localhost').pathname, basic('license', KEY))
    expect(hop.statusCode).toBe(303)
    const bytes = await follow(hop.headers.location as string)
    expect(bytes.statusCode).toBe(200)
    expect(bytes.body).toBe('1.1.0:keygen_linux_amd64')
  })

  it('keeps the query string, so ?auth=license:KEY survives the hop', async () => {
    const res = await get('/v1/engines/raw/cli/latest/keygen_linux_amd64?auth=license:TEST-KEY-0001')
    expect(res.statusCode).toBe(303)
    const location = new URL(res.headers.location as string, 'http://localhost')
    expect(location.search).toBe('?auth=license:TEST-KEY-0001')
    const hop = await get(location.pathname + location.search)
    expect(hop.statusCode).toBe(303)
  })

  it('resolves artifact filenames that contain slashes and spaces', async () => {
    const res = await get('/v1/engines/raw/cli/1.1.0/docs/install%20guide.txt', basic('license', KEY))
    expect(res.statusCode).toBe(303)
    const hop = await get(new URL(res.headers.location as string, 'http://localhost').pathname, basic('license', KEY))
    expect(hop.statusCode).toBe(303)
    expect((await follow(hop.headers.location as string)).body).toBe('1.1.0:docs/install guide.txt')
  })

  it.each([
    ['without credentials', '/v1/engines/raw/cli/1.1.0/keygen_linux_amd64', undefined],
    ['for a draft release', '/v1/engines/raw/cli/1.2.0-beta.1/keygen_linux_amd64', basic('license', KEY)],
    ['for a yanked release', '/v1/engines/raw/cli/0.9.0/keygen_linux_amd64', basic('license', KEY)],
    ['for a waiting artifact', '/v1/engines/raw/cli/1.1.0/keygen_windows_386.exe', basic('license', KEY)],
    ['for an unknown product', '/v1/engines/raw/nope/1.1.0/keygen_linux_amd64', basic('license', KEY)],
    ['for an unknown version', '/v1/engines/raw/cli/3.0.0/keygen_linux_amd64', basic('license', KEY)],
    ['for another product of a license', '/v1/engines/raw/relay/@relay/1.0.0/relay_linux_amd64', basic('license', KEY)],
    [
      'for a packaged release without @package',
      '/v1/engines/raw/relay/1.0.0/relay_linux_amd64',
      basic('license', ENTITLED_KEY),
    ],
  ])('answers 404 %s', async (_name, url, authorization) => {
    const res = await get(url, authorization)
    expect(res.statusCode).toBe(404)
    expect(res.headers['content-type']).toBe('application/vnd.api+json; charset=utf-8')
    expect(res.json().errors[0]).toMatchObject({ title: 'Not found', code: 'NOT_FOUND' })
  })

  it('serves a constrained release to a license holding the entitlement', async () => {
    const res = await get('/v1/engines/raw/relay/@relay/1.0.0/relay_linux_amd64', basic('license', ENTITLED_KEY))
    expect(res.statusCode).toBe(303)
  })

  it('shows drafts and waiting artifacts to the product, whose artifact route then answers 200 without a URL', async () => {
    const auth = `Bearer ${productToken}`
    expect((await get('/v1/engines/raw/cli/1.2.0-beta.1/keygen_linux_amd64', auth)).statusCode).toBe(303)
    const res = await get('/v1/engines/raw/cli/1.1.0/keygen_windows_386.exe', auth)
    expect(res.statusCode).toBe(303)
    const hop = await get(new URL(res.headers.location as string, 'http://localhost').pathname, auth)
    expect(hop.statusCode).toBe(200)
    expect(hop.json().data).toMatchObject({ id: waiting.id, attributes: { status: 'WAITING' } })
    expect(hop.json().data.links.redirect).toBeUndefined()
    expect(hop.headers.location).toBeUndefined()
  })
})

describe('GET /v1/artifacts/:id', () => {
  const admin = () => `Bearer ${gw.adminToken}`

  it('picks the highest visible version for a filename and answers 303 with the artifact document', async () => {
    const res = await get('/v1/artifacts/keygen_linux_amd64', basic('license', KEY))
    expect(res.statusCode).toBe(303)
    expect(res.json().data.id).toBe(binary.id)
    expect(res.json().data.links.redirect).toBe(res.headers.location)
  })

  it('answers 200 with the document and no URL for Prefer: no-download', async () => {
    const res = await get(`/v1/artifacts/${binary.id}`, admin(), { prefer: 'no-download' })
    expect(res.statusCode).toBe(200)
    expect(res.headers.location).toBeUndefined()
  })

  it('answers 200 with Location for Prefer: no-redirect', async () => {
    const res = await get(`/v1/artifacts/${binary.id}?prefer=no-redirect`, admin())
    expect(res.statusCode).toBe(200)
    expect(res.headers.location).toMatch(/\/v1\/blobs\/artifacts\//)
    expect(res.json().data.links.redirect).toBe(res.headers.location)
  })

  it('answers 200 without a URL for an artifact of a yanked release, even for admins', async () => {
    const res = await get('/v1/artifacts/keygen_linux_amd64?release=0.9.0', admin())
    expect(res.statusCode).toBe(200)
    expect(res.headers.location).toBeUndefined()
  })

  it('honours ?ttl= for admins and rejects one out of range', async () => {
    const res = await get(`/v1/artifacts/${binary.id}?ttl=120`, admin())
    expect(res.statusCode).toBe(303)
    const expires = Number(new URL(res.headers.location as string, 'http://localhost').searchParams.get('expires'))
    expect(expires - Math.floor(Date.now() / 1000)).toBeGreaterThan(100)
    expect(expires - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(120)
    const bad = await get(`/v1/artifacts/${binary.id}?ttl=5`, admin())
    expect(bad.statusCode).toBe(400)
    expect(bad.json().errors[0].source).toEqual({ parameter: 'ttl' })
  })

  it('ignores ?ttl= for licenses', async () => {
    const res = await get(`/v1/artifacts/${binary.id}?ttl=5`, basic('license', KEY))
    expect(res.statusCode).toBe(303)
  })

  it('answers 404 for a vanity URL whose filename is not the artifact’s', async () => {
    const res = await get(`/v1/artifacts/${binary.id}/other.zip`, admin())
    expect(res.statusCode).toBe(404)
  })

  it('answers application/json when the client prefers it', async () => {
    const res = await get(`/v1/artifacts/${binary.id}`, admin(), { accept: 'application/json', prefer: 'no-download' })
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
  })

  it('serves the same routes under /v1/accounts/:account by slug and by id', async () => {
    for (const acct of ['default', gw.account.id]) {
      const res = await get(`/v1/accounts/${acct}/engines/raw/cli/1.1.0/keygen_linux_amd64`, basic('license', KEY))
      expect(res.statusCode).toBe(303)
    }
  })
})

describe('storage delivery: proxy', () => {
  let proxied: TestGateway
  beforeAll(async () => {
    proxied = await createTestGateway({ config: { storage: { delivery: 'proxy' } } })
    const product = await seedProduct(proxied.catalog.db, proxied.account, { code: 'app', strategy: 'OPEN' })
    const release = await seedRelease(proxied.catalog.db, proxied.account, {
      product,
      version: '1.0.0',
      status: 'PUBLISHED',
    })
    const row = await seedArtifact(proxied.catalog.db, proxied.account, { release, filename: 'app.bin' })
    await proxied.blobs.write(artifactKey(proxied.account.id, release.id, row.filename), Buffer.from('0123456789'))
  })
  afterAll(async () => {
    await proxied?.close()
  })

  it('streams the bytes from the gateway itself, with Range and ETag', async () => {
    const full = await proxied.app.inject({ method: 'GET', url: '/v1/artifacts/app.bin' })
    expect(full.statusCode).toBe(200)
    expect(full.body).toBe('0123456789')
    expect(full.headers['content-length']).toBe('10')
    const part = await proxied.app.inject({
      method: 'GET',
      url: '/v1/artifacts/app.bin',
      headers: { range: 'bytes=2-4' },
    })
    expect(part.statusCode).toBe(206)
    expect(part.body).toBe('234')
    expect(part.headers['content-range']).toBe('bytes 2-4/10')
    const cached = await proxied.app.inject({
      method: 'GET',
      url: '/v1/artifacts/app.bin',
      headers: { 'if-none-match': full.headers.etag as string },
    })
    expect(cached.statusCode).toBe(304)
  })
})
