import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestGateway, type TestGateway } from '../helpers/app.ts'
import { seedLicense, seedPackage, seedPolicy, seedProduct, seedRelease } from '../helpers/seed.ts'
import { basicAuth, coreMetadata, PIP_ACCEPT, seedFile } from '../engines/pypi/fixtures.ts'

const KEY = 'HOST-KEY-0000-0000-0001'
const EVIL = 'evil.example'

/**
 * Links stay home: no answer to a request naming another host (in `Host`, or `X-Forwarded-Host` behind a trusted
 * proxy) carries a link or a redirect to that host, in any header or body.
 */
describe.each([
  { trustProxy: false, headers: { host: EVIL } },
  { trustProxy: true, headers: { 'x-forwarded-host': EVIL, 'x-forwarded-proto': 'https' } },
])('a request naming $headers (trustProxy $trustProxy)', ({ trustProxy, headers }) => {
  let gw: TestGateway
  let urls: { url: string; auth?: string; accept?: string }[]

  beforeAll(async () => {
    gw = await createTestGateway({ config: { trustProxy } })
    const db = gw.catalog.db
    const product = await seedProduct(db, gw.account, { strategy: 'LICENSED', code: 'host-app' })
    await seedLicense(db, gw.account, {
      policy: await seedPolicy(db, gw.account, { product, authenticationStrategy: 'LICENSE' }),
      key: KEY,
    })
    const pkg = await seedPackage(db, gw.account, { product, key: 'host-pkg', engine: 'pypi' })
    const release = await seedRelease(db, gw.account, { product, package: pkg, version: '1.0.0', status: 'PUBLISHED' })
    const wheel = await seedFile(db, gw.account, {
      release,
      filename: 'host_pkg-1.0.0-py3-none-any.whl',
      coreMetadata: coreMetadata('host-pkg', '1.0.0'),
    })
    const raw = await seedRelease(db, gw.account, { product, version: '2.0.0', status: 'PUBLISHED' })
    const binary = await seedFile(db, gw.account, { release: raw, filename: 'host-cli' })
    const lic = basicAuth('license', KEY)
    const admin = `Bearer ${gw.adminToken}`
    urls = [
      { url: '/v1/engines/raw/host-app/2.0.0/host-cli', auth: lic },
      { url: `/v1/engines/raw/host-app/2.0.0/host-cli?auth=license:${KEY}` },
      { url: `/v1/artifacts/${binary.id}/host-cli`, auth: lic },
      { url: `/v1/artifacts/${binary.id}`, auth: admin },
      { url: '/v1/engines/pypi/simple/', auth: lic },
      { url: '/v1/engines/pypi/simple/host-pkg/', auth: lic },
      { url: '/v1/engines/pypi/simple/host-pkg/', auth: lic, accept: PIP_ACCEPT },
      { url: `/v1/accounts/${gw.account.id}/engines/pypi/files/${wheel.id}/${wheel.filename}`, auth: lic },
      { url: `/v1/releases?page[size]=1&page[number]=1`, auth: admin },
      { url: `/v1/artifacts?page[size]=1&page[number]=1`, auth: admin },
      { url: '/v1/products', auth: admin },
    ]
  })

  afterAll(async () => {
    await gw?.close()
  })

  it('gets no link and no redirect to that host from downloads, pages and lists', async () => {
    for (const u of urls) {
      const res = await gw.app.inject({
        url: u.url,
        headers: {
          ...headers,
          ...(u.auth ? { authorization: u.auth } : {}),
          ...(u.accept ? { accept: u.accept } : {}),
        },
      })
      expect(res.statusCode, u.url).toBeLessThan(400)
      expect(JSON.stringify(res.headers), u.url).not.toContain(EVIL)
      expect(res.body, u.url).not.toContain(EVIL)
    }
  })

  it('gets a 400, not an upload URL on that host, when creating an artifact', async () => {
    const release = await seedRelease(gw.catalog.db, gw.account, {
      product: (await gw.catalog.db.selectFrom('products').select('id').executeTakeFirstOrThrow()).id,
      version: '3.0.0',
    })
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v1/artifacts',
      headers: { ...headers, authorization: `Bearer ${gw.adminToken}`, 'content-type': 'application/vnd.api+json' },
      payload: {
        data: {
          type: 'artifacts',
          attributes: { filename: 'unsized.bin' },
          relationships: { release: { data: { type: 'releases', id: release.id } } },
        },
      },
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().errors[0].code).toBe('HOST_NOT_ALLOWED')
    expect(JSON.stringify(res.headers)).not.toContain(EVIL)
  })
})

describe('with publicUrl set', () => {
  it('builds every absolute URL from publicUrl, whatever the Host', async () => {
    const gw = await createTestGateway({ config: { publicUrl: 'https://dist.example.com/' } })
    try {
      const product = await seedProduct(gw.catalog.db, gw.account, { code: 'pub-app' })
      const release = await seedRelease(gw.catalog.db, gw.account, { product, version: '1.0.0' })
      const res = await gw.app.inject({
        method: 'POST',
        url: '/v1/artifacts',
        headers: { host: EVIL, authorization: `Bearer ${gw.adminToken}`, 'content-type': 'application/vnd.api+json' },
        payload: {
          data: {
            type: 'artifacts',
            attributes: { filename: 'unsized.bin' },
            relationships: { release: { data: { type: 'releases', id: release.id } } },
          },
        },
      })
      expect(res.statusCode).toBe(307)
      expect(res.headers.location).toMatch(/^https:\/\/dist\.example\.com\/v1\/blobs\//)
    } finally {
      await gw.close()
    }
  })
})
