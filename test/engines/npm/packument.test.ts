import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MANIFEST_TYPES } from '../../../formats/manifest-types.ts'
import type {
  Account,
  ArtifactRow,
  EntitlementRow,
  PackageRow,
  ProductRow,
  ReleaseRow,
} from '../../../gateway/catalog/types.ts'
import { createTestGateway, type TestGateway } from '../../helpers/app.ts'
import {
  seedArtifact,
  seedEntitlement,
  seedLicense,
  seedManifest,
  seedPackage,
  seedPolicy,
  seedProduct,
  seedRelease,
  seedToken,
} from '../../helpers/seed.ts'
import { basicAuth } from '../pypi/fixtures.ts'

const HOST = '127.0.0.1:8080'
const BASE = `http://${HOST}/`
const JSON_TYPE = 'application/json; charset=utf-8'
const KEYS = { insider: 'NPM-INSIDER-KEY', plain: 'NPM-PLAIN-KEY', other: 'NPM-OTHER-KEY' }

const sha512 = (s: string) => createHash('sha512').update(s).digest('hex')
const sri = (s: string) => `sha512-${createHash('sha512').update(s).digest('base64')}`

/**
 * The npm engine over seeded catalog rows and manifests (as the upload worker stores them): the exact packument,
 * both spellings of scoped names, who sees which versions, dist-tags, 401/404, caching headers and `/-/` 410s.
 * see: ../shared/spec/engines.md §2.3, §4.5
 */
describe('npm engine', () => {
  let gw: TestGateway
  let account: Account
  let licenseToken: string
  let productToken: string
  const tarball: Record<string, ArtifactRow> = {}

  async function publish(
    pkg: PackageRow,
    product: ProductRow,
    version: string,
    opts: { status?: ReleaseRow['status']; tag?: string; constraints?: EntitlementRow[]; checksum?: string } = {},
    manifest: Record<string, unknown> = {},
  ) {
    const key = (manifest.name as string) ?? 'x'
    const release = await seedRelease(gw.catalog.db, account, {
      product,
      package: pkg,
      version,
      status: opts.status ?? 'PUBLISHED',
      tag: opts.tag ?? null,
      constraints: opts.constraints,
      createdAt: `2024-10-0${Object.keys(tarball).length + 1}T01:42:00.000Z`,
    })
    const filename = `${key.replace(/^@.*\//, '')}-${version}.tgz`
    const row = await seedArtifact(gw.catalog.db, account, {
      release,
      filename,
      sha512: sha512(`${key}@${version}`),
      checksum: opts.checksum ?? null,
      createdAt: release.created_at,
    })
    await seedManifest(gw.catalog.db, account, {
      artifact: row,
      contentType: MANIFEST_TYPES.npmPackage,
      content: JSON.stringify({ version, ...manifest }, null, 2),
    })
    tarball[`${key}@${version}`] = row
    return row
  }

  beforeAll(async () => {
    gw = await createTestGateway()
    account = gw.account
    const db = gw.catalog.db
    const test1 = await seedProduct(db, account, { strategy: 'LICENSED', code: 'test1' })
    const test2 = await seedProduct(db, account, { strategy: 'OPEN', code: 'test2' })
    const test3 = await seedProduct(db, account, { strategy: 'LICENSED', code: 'test3' })
    const insider = await seedEntitlement(db, account, { code: 'INSIDER' })
    const policy = await seedPolicy(db, account, { product: test1, authenticationStrategy: 'MIXED' })
    await seedLicense(db, account, { policy, key: KEYS.insider, entitlements: [insider] })
    const plain = await seedLicense(db, account, { policy, key: KEYS.plain })
    licenseToken = (await seedToken(db, account, { bearerType: 'license', bearer: plain })).raw
    const otherPolicy = await seedPolicy(db, account, { product: test3, authenticationStrategy: 'LICENSE' })
    await seedLicense(db, account, { policy: otherPolicy, key: KEYS.other })
    productToken = (await seedToken(db, account, { bearerType: 'product', bearer: test1 })).raw

    const created = '2024-10-01T01:23:45.000Z'
    const foo = await seedPackage(db, account, { product: test1, key: 'foo', engine: 'npm', createdAt: created })
    await publish(foo, test1, '1.0.0', { checksum: 'A'.repeat(40) }, { name: 'foo', main: 'index.js' })
    await publish(foo, test1, '1.0.1', { tag: 'latest' }, { name: 'foo', dist: { tarball: 'http://evil/x.tgz' } })
    await publish(foo, test1, '1.1.0', { constraints: [insider] }, { name: 'foo', dependencies: { bar: '^1' } })
    const bar = await seedPackage(db, account, { product: test1, key: '@test/bar', engine: 'npm', createdAt: created })
    await publish(bar, test1, '1.0.0-beta.1', {}, { name: '@test/bar' })
    await publish(bar, test1, '1.0.0-beta.2', { tag: 'beta' }, { name: '@test/bar' })
    await publish(bar, test1, '1.0.0-beta.3', { status: 'DRAFT' }, { name: '@test/bar' })
    const baz = await seedPackage(db, account, { product: test2, key: 'baz', engine: 'npm', createdAt: created })
    await publish(baz, test2, '1.0.0', { status: 'YANKED' }, { name: 'baz' })
    await publish(baz, test2, '2.0.0', {}, { name: 'baz' })
    await seedPackage(db, account, { product: test2, key: '@test/empty', engine: 'npm', createdAt: created })
    const raw = await seedPackage(db, account, { product: test2, key: 'rawpkg', engine: 'raw', createdAt: created })
    await publish(raw, test2, '1.0.0', {}, { name: 'rawpkg' })
  })

  afterAll(async () => {
    await gw?.close()
  })

  const get = (url: string, headers: Record<string, string> = {}) =>
    gw.app.inject({ method: 'GET', url, headers: { host: HOST, accept: 'application/json', ...headers } })
  const license = (key: string) => ({ authorization: basicAuth('license', key) })
  const admin = () => ({ authorization: `Bearer ${gw.adminToken}` })
  const url = (key: string) => {
    const row = tarball[key]
    return `${BASE}v1/accounts/${account.id}/artifacts/${row.id}/${row.filename}`
  }
  const versionsOf = (body: string) => Object.keys(JSON.parse(body).versions)

  it('answers the exact packument: name, time, dist-tags, versions (package.json + dist), highest first', async () => {
    const res = await get('/v1/engines/npm/foo', license(KEYS.insider))
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe(JSON_TYPE)
    const expected = {
      name: 'foo',
      time: {
        created: '2024-10-01T01:23:45.000Z',
        modified: '2024-10-03T01:42:00.000Z',
        '1.1.0': '2024-10-03T01:42:00.000Z',
        '1.0.1': '2024-10-02T01:42:00.000Z',
        '1.0.0': '2024-10-01T01:42:00.000Z',
      },
      'dist-tags': { latest: '1.0.1' },
      versions: {
        '1.1.0': {
          version: '1.1.0',
          name: 'foo',
          dependencies: { bar: '^1' },
          dist: { tarball: url('foo@1.1.0'), integrity: sri('foo@1.1.0') },
        },
        '1.0.1': {
          version: '1.0.1',
          name: 'foo',
          dist: { tarball: url('foo@1.0.1'), integrity: sri('foo@1.0.1') },
        },
        '1.0.0': {
          version: '1.0.0',
          name: 'foo',
          main: 'index.js',
          dist: { tarball: url('foo@1.0.0'), integrity: sri('foo@1.0.0'), shasum: 'a'.repeat(40) },
        },
      },
    }
    expect(res.body).toBe(JSON.stringify(expected))
    expect(res.headers.etag).toBe(`"${createHash('md5').update(res.body).digest('hex')}"`)
    expect(res.headers['cache-control']).toBe('private, max-age=0, must-revalidate')
    expect(res.headers.vary).toBe('Authorization')
  })

  it('serves the same document for the abbreviated Accept and for `*/*`', async () => {
    const full = await get('/v1/engines/npm/foo', license(KEYS.insider))
    for (const accept of ['application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*', '*/*']) {
      const res = await get('/v1/engines/npm/foo', { ...license(KEYS.insider), accept })
      expect(res.statusCode).toBe(200)
      expect(res.body).toBe(full.body)
    }
  })

  it('answers 400 MIME_TYPE_INVALID when Accept excludes JSON', async () => {
    const res = await get('/v1/engines/npm/foo', { ...admin(), accept: 'text/html' })
    expect(res.statusCode).toBe(400)
    expect(res.headers['content-type']).toBe(JSON_TYPE)
    expect(res.json().errors[0].code).toBe('MIME_TYPE_INVALID')
  })

  it('revalidates with 304 on a matching If-None-Match, 200 otherwise', async () => {
    const first = await get('/v1/engines/npm/foo', license(KEYS.plain))
    const again = await get('/v1/engines/npm/foo', {
      ...license(KEYS.plain),
      'if-none-match': first.headers.etag as string,
    })
    expect(again.statusCode).toBe(304)
    expect(again.body).toBe('')
    const other = await get('/v1/engines/npm/foo', { ...license(KEYS.plain), 'if-none-match': 'W/"foo"' })
    expect(other.statusCode).toBe(200)
    expect(other.body).toBe(first.body)
  })

  it('answers @scope/name and @scope%2fname alike; the prerelease-only package`s latest is its highest', async () => {
    const slash = await get('/v1/engines/npm/@test/bar', license(KEYS.plain))
    const encoded = await get('/v1/engines/npm/@test%2fbar', license(KEYS.plain))
    const upper = await get(`/v1/accounts/${account.slug}/engines/npm/@test%2Fbar`, license(KEYS.plain))
    expect(slash.statusCode).toBe(200)
    expect(encoded.body).toBe(slash.body)
    expect(upper.body).toBe(slash.body)
    const doc = JSON.parse(slash.body)
    expect(doc.name).toBe('@test/bar')
    expect(Object.keys(doc.versions)).toEqual(['1.0.0-beta.2', '1.0.0-beta.1'])
    expect(doc['dist-tags']).toEqual({ latest: '1.0.0-beta.2', beta: '1.0.0-beta.2' })
  })

  it('shows staff and the product drafts, constrained and yanked-release versions only when downloadable', async () => {
    const staff = await get('/v1/engines/npm/@test/bar', admin())
    expect(versionsOf(staff.body)).toEqual(['1.0.0-beta.3', '1.0.0-beta.2', '1.0.0-beta.1'])
    expect(JSON.parse(staff.body)['dist-tags']).toEqual({ latest: '1.0.0-beta.3', beta: '1.0.0-beta.2' })
    const product = await get('/v1/engines/npm/@test/bar', { authorization: `Bearer ${productToken}` })
    expect(product.body).toBe(staff.body)
    // A yanked release cannot be downloaded, so it is no version even for staff.
    expect(versionsOf((await get('/v1/engines/npm/baz', admin())).body)).toEqual(['2.0.0'])
  })

  it('lists only the versions a license is entitled to, with Basic license:KEY or a license token', async () => {
    expect(versionsOf((await get('/v1/engines/npm/foo', license(KEYS.insider))).body)).toEqual([
      '1.1.0',
      '1.0.1',
      '1.0.0',
    ])
    const plain = await get('/v1/engines/npm/foo', license(KEYS.plain))
    expect(versionsOf(plain.body)).toEqual(['1.0.1', '1.0.0'])
    expect(JSON.parse(plain.body).time.modified).toBe('2024-10-02T01:42:00.000Z')
    const token = await get('/v1/engines/npm/foo', { authorization: `Bearer ${licenseToken}` })
    expect(token.body).toBe(plain.body)
  })

  it('serves OPEN packages to anyone, as `public`', async () => {
    const res = await get('/v1/engines/npm/baz')
    expect(res.statusCode).toBe(200)
    expect(versionsOf(res.body)).toEqual(['2.0.0'])
    expect(res.headers['cache-control']).toBe('public, max-age=0, must-revalidate')
    const licensed = await get('/v1/engines/npm/baz', license(KEYS.other))
    expect(licensed.body).toBe(res.body)
    expect(licensed.headers['cache-control']).toBe('public, max-age=0, must-revalidate')
  })

  it('answers 404 to a caller with credentials for what it cannot see, and for packages without versions', async () => {
    for (const [path, headers] of [
      ['foo', license(KEYS.other)],
      ['@test/empty', admin()],
      ['rawpkg', admin()],
      ['nope', admin()],
      ['Not-Valid', admin()],
    ] as const) {
      const res = await get(`/v1/engines/npm/${path}`, headers)
      expect(res.statusCode, path).toBe(404)
      expect(res.headers['content-type']).toBe(JSON_TYPE)
      expect(res.json()).toMatchObject({
        error: `The requested package '${path}' was not found`,
        errors: [{ title: 'Not found', code: 'NOT_FOUND' }],
      })
    }
  })

  it('answers 401 with a challenge to anonymous callers for anything they cannot see, existing or not', async () => {
    for (const path of ['foo', '@test%2fbar', 'nope']) {
      const res = await get(`/v1/engines/npm/${path}`)
      expect(res.statusCode, path).toBe(401)
      expect(res.headers['www-authenticate']).toBe('Bearer realm="pkgway"')
      expect(res.json().errors[0]).toMatchObject({ title: 'Unauthorized', code: 'TOKEN_MISSING' })
    }
    const wrong = await get('/v1/engines/npm/foo', license('NO-SUCH-KEY'))
    expect(wrong.statusCode).toBe(401)
    expect(wrong.headers['www-authenticate']).toBe('Basic realm="pkgway"')
    expect(wrong.json().errors[0].code).toBe('LICENSE_INVALID')
  })

  it('answers the dist-tags of the versions the caller sees (npm dist-tag ls), in both spellings', async () => {
    const plain = await get('/v1/engines/npm/-/package/@test%2fbar/dist-tags', license(KEYS.plain))
    expect(plain.statusCode).toBe(200)
    expect(plain.headers['content-type']).toBe(JSON_TYPE)
    expect(plain.headers['cache-control']).toBe('private, max-age=0, must-revalidate')
    expect(plain.headers.etag).toBe(`"${createHash('md5').update(plain.body).digest('hex')}"`)
    expect(plain.body).toBe('{"latest":"1.0.0-beta.2","beta":"1.0.0-beta.2"}')
    const slash = await get('/v1/engines/npm/-/package/@test/bar/dist-tags', license(KEYS.plain))
    expect(slash.body).toBe(plain.body)
    const staff = await get('/v1/engines/npm/-/package/@test%2Fbar/dist-tags', admin())
    expect(staff.body).toBe('{"latest":"1.0.0-beta.3","beta":"1.0.0-beta.2"}')
    expect((await get('/v1/engines/npm/-/package/foo/dist-tags', license(KEYS.plain))).body).toBe('{"latest":"1.0.1"}')
    const again = await get('/v1/engines/npm/-/package/@test%2fbar/dist-tags', {
      ...license(KEYS.plain),
      'if-none-match': plain.headers.etag as string,
    })
    expect(again.statusCode).toBe(304)
    const open = await get('/v1/engines/npm/-/package/baz/dist-tags')
    expect(open.body).toBe('{"latest":"2.0.0"}')
    expect(open.headers['cache-control']).toBe('public, max-age=0, must-revalidate')
  })

  it('hides dist-tags like packuments: 404 with credentials, 401 without; changing them is 410', async () => {
    for (const [path, headers] of [
      ['foo', license(KEYS.other)],
      ['@test%2fempty', admin()],
      ['nope', admin()],
    ] as const) {
      const res = await get(`/v1/engines/npm/-/package/${path}/dist-tags`, headers)
      expect(res.statusCode, path).toBe(404)
      expect(res.json().errors[0].code).toBe('NOT_FOUND')
    }
    const anonymous = await get('/v1/engines/npm/-/package/foo/dist-tags')
    expect(anonymous.statusCode).toBe(401)
    expect(anonymous.headers['www-authenticate']).toBe('Bearer realm="pkgway"')
    for (const method of ['PUT', 'DELETE'] as const) {
      const res = await gw.app.inject({
        method,
        url: '/v1/engines/npm/-/package/foo/dist-tags/beta',
        headers: { host: HOST, ...admin(), 'content-type': 'application/json' },
        payload: '"1.0.0"',
      })
      expect(res.statusCode, method).toBe(410)
      expect(res.body).toBe('')
    }
  })

  it('answers 410 with an empty body under /-/ (audit, whoami), whatever the method', async () => {
    for (const method of ['GET', 'POST', 'PUT'] as const) {
      const res = await gw.app.inject({
        method,
        url: '/v1/engines/npm/-/npm/v1/security/advisories/bulk',
        payload: '{}',
      })
      expect(res.statusCode).toBe(410)
      expect(res.body).toBe('')
    }
    expect((await get('/v1/engines/npm/-/whoami', license(KEYS.plain))).statusCode).toBe(410)
  })

  it('builds tarball URLs from publicUrl, else only from an allowed Host', async () => {
    const res = await get('/v1/engines/npm/baz', { host: 'evil.example:8080' })
    expect(res.statusCode).toBe(400)
    expect(res.json().errors[0].code).toBe('HOST_NOT_ALLOWED')
    const local = await get('/v1/engines/npm/baz', { host: 'localhost:9000' })
    expect(JSON.parse(local.body).versions['2.0.0'].dist.tarball).toMatch(/^http:\/\/localhost:9000\/v1\/accounts\//)
  })
})

describe('npm engine with publicUrl', () => {
  it('writes tarball URLs under publicUrl whatever the Host', async () => {
    const gw = await createTestGateway({ config: { publicUrl: 'https://dist.example.com/pkg' } })
    try {
      const product = await seedProduct(gw.catalog.db, gw.account, { strategy: 'OPEN' })
      const pkg = await seedPackage(gw.catalog.db, gw.account, { product, key: 'pub', engine: 'npm' })
      const release = await seedRelease(gw.catalog.db, gw.account, {
        product,
        package: pkg,
        version: '1.0.0',
        status: 'PUBLISHED',
      })
      const row = await seedArtifact(gw.catalog.db, gw.account, { release, filename: 'pub-1.0.0.tgz' })
      await seedManifest(gw.catalog.db, gw.account, {
        artifact: row,
        contentType: MANIFEST_TYPES.npmPackage,
        content: '{"name":"pub","version":"1.0.0"}',
      })
      const res = await gw.app.inject({ url: '/v1/engines/npm/pub', headers: { host: 'evil.example' } })
      expect(res.statusCode).toBe(200)
      expect(JSON.parse(res.body).versions['1.0.0'].dist).toEqual({
        tarball: `https://dist.example.com/pkg/v1/accounts/${gw.account.id}/artifacts/${row.id}/pub-1.0.0.tgz`,
      })
    } finally {
      await gw.close()
    }
  })
})
