import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bumpRevision } from '../../../gateway/catalog/accounts.ts'
import type { Account, EntitlementRow, PackageRow, ProductRow } from '../../../gateway/catalog/types.ts'
import { createTestGateway, type TestGateway } from '../../helpers/app.ts'
import { catalogKinds } from '../../helpers/catalog.ts'
import { seedEntitlement, seedLicense, seedPackage, seedPolicy, seedProduct, seedRelease } from '../../helpers/seed.ts'
import { basicAuth, coreMetadata, PIP_ACCEPT, seedFile, sha256 } from './fixtures.ts'

const BASE = '/'
const HTML = 'text/html; charset=utf-8'
const JSON_TYPE = 'application/vnd.pypi.simple.v1+json'

describe.each(catalogKinds)('PyPI simple pages on %s', (kind) => {
  let gw: TestGateway
  let account: Account
  let vendor: ProductRow
  let other: ProductRow
  let insider: EntitlementRow
  let vendorPkg: PackageRow
  let openPkg: PackageRow
  const keys = { vendor: 'VENDOR-KEY-1', insider: 'VENDOR-KEY-INSIDER', other: 'OTHER-KEY-1' }
  const ids: Record<string, string> = {}
  const hashes: Record<string, string> = {}

  const wheel110 = coreMetadata('vendor-pkg', '1.1.0', { 'Requires-Python': '>=3.8' })
  const wheel100 = coreMetadata('vendor-pkg', '1.0.0', { 'Requires-Python': '>=3.7' })

  beforeAll(async () => {
    gw = await createTestGateway({ catalog: kind })
    const db = gw.catalog.db
    account = gw.account
    vendor = await seedProduct(db, account, { name: 'Vendor', strategy: 'LICENSED' })
    other = await seedProduct(db, account, { name: 'Other', strategy: 'LICENSED' })
    const open = await seedProduct(db, account, { name: 'Open', strategy: 'OPEN' })
    insider = await seedEntitlement(db, account, { code: 'INSIDER' })
    const policy = await seedPolicy(db, account, { product: vendor, authenticationStrategy: 'LICENSE' })
    const otherPolicy = await seedPolicy(db, account, { product: other, authenticationStrategy: 'LICENSE' })
    await seedLicense(db, account, { policy, key: keys.vendor })
    await seedLicense(db, account, { policy, key: keys.insider, entitlements: [insider] })
    await seedLicense(db, account, { policy: otherPolicy, key: keys.other })

    vendorPkg = await seedPackage(db, account, { product: vendor, key: 'vendor-pkg', engine: 'pypi' })
    openPkg = await seedPackage(db, account, { product: open, key: 'Open_Tool', engine: 'pypi' })
    await seedPackage(db, account, { product: other, key: 'other-pkg', engine: 'pypi' })
    await seedPackage(db, account, { product: vendor, key: 'npm-thing', engine: 'npm' })

    const published = (version: string, extra = {}) =>
      seedRelease(db, account, { product: vendor, package: vendorPkg, version, status: 'PUBLISHED', ...extra })
    const r100 = await published('1.0.0')
    const r110 = await published('1.1.0')
    const rBeta = await published('2.0.0-beta.1', { constraints: [insider] })
    const rDraft = await seedRelease(db, account, { product: vendor, package: vendorPkg, version: '1.2.0' })
    const r101 = await published('1.0.1')

    hashes.w100 = sha256('wheel 1.0.0')
    hashes.sdist = sha256('sdist 1.0.0')
    hashes.w110 = sha256('wheel 1.1.0')
    ids.w100 = (
      await seedFile(db, account, {
        release: r100,
        filename: 'vendor_pkg-1.0.0-py3-none-any.whl',
        sha256: hashes.w100,
        filesize: 1000,
        createdAt: '2024-01-01T10:00:00.000Z',
        coreMetadata: wheel100,
      })
    ).id
    ids.sdist = (
      await seedFile(db, account, {
        release: r100,
        filename: 'vendor_pkg-1.0.0.tar.gz',
        sha256: hashes.sdist,
        filesize: 900,
        createdAt: '2024-01-01T11:00:00.000Z',
        metadata: { requiresPython: '>=3.7' },
      })
    ).id
    ids.w110 = (
      await seedFile(db, account, {
        release: r110,
        filename: 'vendor_pkg-1.1.0-py3-none-any.whl',
        sha256: hashes.w110,
        filesize: 1100,
        createdAt: '2024-02-01T10:00:00.000Z',
        coreMetadata: wheel110,
      })
    ).id
    ids.beta = (
      await seedFile(db, account, {
        release: rBeta,
        filename: 'vendor_pkg-2.0.0b1-py3-none-any.whl',
        sha256: sha256('beta'),
        createdAt: '2024-03-01T10:00:00.000Z',
      })
    ).id
    ids.draft = (await seedFile(db, account, { release: rDraft, filename: 'vendor_pkg-1.2.0-py3-none-any.whl' })).id
    ids.failed = (
      await seedFile(db, account, { release: r101, filename: 'vendor_pkg-1.0.1-py3-none-any.whl', status: 'FAILED' })
    ).id
    ids.waiting = (
      await seedFile(db, account, { release: r101, filename: 'vendor_pkg-1.0.1.tar.gz', status: 'WAITING' })
    ).id
    const rYanked = await seedRelease(db, account, {
      product: vendor,
      package: vendorPkg,
      version: '0.9.0',
      status: 'YANKED',
    })
    ids.yanked = (await seedFile(db, account, { release: rYanked, filename: 'vendor_pkg-0.9.0-py3-none-any.whl' })).id
  })

  afterAll(async () => {
    await gw?.close()
  })

  const get = (url: string, headers: Record<string, string> = {}) => gw.app.inject({ method: 'GET', url, headers })
  const asLicense = (key: string, extra: Record<string, string> = {}) => ({
    authorization: basicAuth('license', key),
    ...extra,
  })

  function fileUrl(id: string, filename: string): string {
    return `${BASE}v1/accounts/${account.id}/engines/pypi/files/${id}/${filename}`
  }

  describe('GET /v1/engines/pypi/simple/', () => {
    it('lists the projects a license may see as PEP 503 HTML, by normalized name', async () => {
      const res = await get('/v1/engines/pypi/simple/', asLicense(keys.vendor))
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toBe(HTML)
      expect(res.body).toBe(
        [
          '<!DOCTYPE html>',
          '<html>',
          '  <head>',
          '    <meta name="pypi:repository-version" content="1.1">',
          '    <title>Packages for Default</title>',
          '  </head>',
          '  <body>',
          '    <h1>Packages for Default</h1>',
          `    <a href="${BASE}v1/accounts/${account.id}/engines/pypi/simple/open-tool/">Open_Tool</a><br>`,
          `    <a href="${BASE}v1/accounts/${account.id}/engines/pypi/simple/vendor-pkg/">vendor-pkg</a><br>`,
          '  </body>',
          '</html>',
          '',
        ].join('\n'),
      )
      expect(res.headers['cache-control']).toBe('private, max-age=600')
    })

    it('returns PEP 691 JSON when Accept prefers application/vnd.pypi.simple.v1+json', async () => {
      const res = await get('/v1/engines/pypi/simple', asLicense(keys.vendor, { accept: PIP_ACCEPT }))
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toBe(JSON_TYPE)
      expect(res.headers.vary).toBe('Accept, Authorization')
      expect(res.body).toBe('{"meta":{"api-version":"1.1"},"projects":[{"name":"Open_Tool"},{"name":"vendor-pkg"}]}')
    })

    it('shows anonymous callers only OPEN projects, cacheable by a CDN', async () => {
      const res = await get('/v1/engines/pypi/simple/', { accept: JSON_TYPE })
      expect(res.body).toBe('{"meta":{"api-version":"1.1"},"projects":[{"name":"Open_Tool"}]}')
      expect(res.headers['cache-control']).toBe('public, max-age=600')
    })

    it('answers under the account-scoped form, by slug or id', async () => {
      for (const ref of [account.slug, account.id]) {
        const res = await get(`/v1/accounts/${ref}/engines/pypi/simple/`, { accept: JSON_TYPE })
        expect(res.statusCode).toBe(200)
        expect(JSON.parse(res.body).projects).toEqual([{ name: 'Open_Tool' }])
      }
    })

    it('answers 406 in plain text to a client that accepts neither HTML nor JSON', async () => {
      const res = await get('/v1/engines/pypi/simple/', { accept: 'application/json' })
      expect(res.statusCode).toBe(406)
      expect(res.headers['content-type']).toBe(HTML)
      expect(res.body).toBe('Not Acceptable')
    })

    it('gives HTML for Accept */* and for no Accept header', async () => {
      for (const accept of ['*/*', undefined]) {
        const res = await get('/v1/engines/pypi/simple/', accept ? { accept } : {})
        expect(res.headers['content-type']).toBe(HTML)
      }
    })
  })

  describe('GET /v1/engines/pypi/simple/:project/', () => {
    const page = (lines: string[]) =>
      [
        '<!DOCTYPE html>',
        '<html>',
        '  <head>',
        '    <meta name="pypi:repository-version" content="1.1">',
        '    <title>Links for vendor-pkg</title>',
        '  </head>',
        '  <body>',
        '    <h1>Links for vendor-pkg</h1>',
        ...lines.map((l) => `    ${l}`),
        '  </body>',
        '</html>',
        '',
      ].join('\n')

    it('lists the visible files newest first with hashes, Requires-Python and core metadata (PEP 503/658/714)', async () => {
      const res = await get('/v1/engines/pypi/simple/vendor-pkg/', asLicense(keys.vendor))
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toBe(HTML)
      const m110 = sha256(wheel110)
      const m100 = sha256(wheel100)
      expect(res.body).toBe(
        page([
          `<a href="${fileUrl(ids.w110, 'vendor_pkg-1.1.0-py3-none-any.whl')}#sha256=${hashes.w110}" data-requires-python="&gt;=3.8" data-dist-info-metadata="sha256=${m110}" data-core-metadata="sha256=${m110}">vendor_pkg-1.1.0-py3-none-any.whl</a><br>`,
          `<a href="${fileUrl(ids.sdist, 'vendor_pkg-1.0.0.tar.gz')}#sha256=${hashes.sdist}" data-requires-python="&gt;=3.7">vendor_pkg-1.0.0.tar.gz</a><br>`,
          `<a href="${fileUrl(ids.w100, 'vendor_pkg-1.0.0-py3-none-any.whl')}#sha256=${hashes.w100}" data-requires-python="&gt;=3.7" data-dist-info-metadata="sha256=${m100}" data-core-metadata="sha256=${m100}">vendor_pkg-1.0.0-py3-none-any.whl</a><br>`,
        ]),
      )
      expect(res.headers['cache-control']).toBe('private, max-age=600')
      // The validators of the exact bytes: a strong ETag (the body's MD5) and its SHA-256 (RFC 9530).
      expect(res.headers.etag).toBe(`"${createHash('md5').update(res.rawPayload).digest('hex')}"`)
      expect(res.headers['repr-digest']).toBe(
        `sha-256=:${createHash('sha256').update(res.rawPayload).digest('base64')}:`,
      )
      expect(res.headers.vary).toBe('Accept, Authorization')
    })

    it('returns the same files as PEP 691 JSON (api 1.1) for pip', async () => {
      const res = await get('/v1/engines/pypi/simple/vendor-pkg/', asLicense(keys.vendor, { accept: PIP_ACCEPT }))
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toBe(JSON_TYPE)
      expect(res.headers.vary).toBe('Accept, Authorization')
      const m110 = sha256(wheel110)
      const m100 = sha256(wheel100)
      expect(res.body).toBe(
        JSON.stringify({
          meta: { 'api-version': '1.1' },
          name: 'vendor-pkg',
          versions: ['1.1.0', '1.0.0'],
          files: [
            {
              filename: 'vendor_pkg-1.1.0-py3-none-any.whl',
              url: fileUrl(ids.w110, 'vendor_pkg-1.1.0-py3-none-any.whl'),
              hashes: { sha256: hashes.w110 },
              'requires-python': '>=3.8',
              size: 1100,
              'upload-time': '2024-02-01T10:00:00.000Z',
              'core-metadata': { sha256: m110 },
              yanked: false,
            },
            {
              filename: 'vendor_pkg-1.0.0.tar.gz',
              url: fileUrl(ids.sdist, 'vendor_pkg-1.0.0.tar.gz'),
              hashes: { sha256: hashes.sdist },
              'requires-python': '>=3.7',
              size: 900,
              'upload-time': '2024-01-01T11:00:00.000Z',
              'core-metadata': false,
              yanked: false,
            },
            {
              filename: 'vendor_pkg-1.0.0-py3-none-any.whl',
              url: fileUrl(ids.w100, 'vendor_pkg-1.0.0-py3-none-any.whl'),
              hashes: { sha256: hashes.w100 },
              'requires-python': '>=3.7',
              size: 1000,
              'upload-time': '2024-01-01T10:00:00.000Z',
              'core-metadata': { sha256: m100 },
              yanked: false,
            },
          ],
        }),
      )
    })

    it('adds releases behind an entitlement only for licenses that hold it', async () => {
      const res = await get('/v1/engines/pypi/simple/vendor-pkg/', asLicense(keys.insider, { accept: JSON_TYPE }))
      const files = JSON.parse(res.body).files.map((f: { filename: string }) => f.filename)
      expect(files).toEqual([
        'vendor_pkg-2.0.0b1-py3-none-any.whl',
        'vendor_pkg-1.1.0-py3-none-any.whl',
        'vendor_pkg-1.0.0.tar.gz',
        'vendor_pkg-1.0.0-py3-none-any.whl',
      ])
      expect(JSON.parse(res.body).versions).toEqual(['2.0.0b1', '1.1.0', '1.0.0'])
    })

    it('never lists FAILED or WAITING artifacts or drafts to customers; staff see drafts but no unfinished uploads', async () => {
      const customer = await get('/v1/engines/pypi/simple/vendor-pkg/', asLicense(keys.insider))
      for (const id of [ids.draft, ids.failed, ids.waiting, ids.yanked]) expect(customer.body).not.toContain(id)
      const staff = await get('/v1/engines/pypi/simple/vendor-pkg/', { authorization: `Bearer ${gw.adminToken}` })
      expect(staff.statusCode).toBe(200)
      expect(staff.body).toContain(ids.draft)
      expect(staff.body).toContain(
        `<a href="${fileUrl(ids.yanked, 'vendor_pkg-0.9.0-py3-none-any.whl')}" data-yanked="">vendor_pkg-0.9.0-py3-none-any.whl</a><br>`,
      )
      expect(staff.body).not.toContain(ids.failed)
      expect(staff.body).not.toContain(ids.waiting)
    })

    it('answers a non-normalized spelling (Vendor_Pkg) for the private project instead of passing it through', async () => {
      for (const name of ['Vendor_Pkg', 'VENDOR.PKG', 'vendor__pkg', 'Vendor-_.Pkg']) {
        const res = await get(`/v1/engines/pypi/simple/${name}/`, asLicense(keys.vendor, { accept: JSON_TYPE }))
        expect(res.statusCode, name).toBe(200)
        expect(JSON.parse(res.body).name).toBe('vendor-pkg')
      }
      // And a stored key that is not normalized is found by the normalized name pip sends.
      const res = await get('/v1/engines/pypi/simple/open-tool/', { accept: JSON_TYPE })
      expect(res.statusCode).toBe(200)
      expect(JSON.parse(res.body).name).toBe('open-tool')
      // Without credentials the private project is a 401, never a redirect to the public index.
      const anonymous = await get('/v1/engines/pypi/simple/Vendor_Pkg/')
      expect(anonymous.statusCode).toBe(401)
    })

    it('finds a project by package UUID, with or without the trailing slash', async () => {
      for (const url of [`/v1/engines/pypi/simple/${vendorPkg.id}/`, '/v1/engines/pypi/simple/vendor-pkg']) {
        const res = await get(url, asLicense(keys.vendor, { accept: JSON_TYPE }))
        expect(res.statusCode, url).toBe(200)
        expect(JSON.parse(res.body).name).toBe('vendor-pkg')
      }
    })

    it('redirects an unknown name to the public index with 307, normalized', async () => {
      const res = await get('/v1/engines/pypi/simple/Requests_OAuthlib/', asLicense(keys.vendor))
      expect(res.statusCode).toBe(307)
      expect(res.headers.location).toBe('https://pypi.org/simple/requests-oauthlib/')
    })

    it('passes through a name that only a package of another engine uses', async () => {
      const res = await get('/v1/engines/pypi/simple/npm-thing/')
      expect(res.statusCode).toBe(307)
      expect(res.headers.location).toBe('https://pypi.org/simple/npm-thing/')
    })

    it('answers 401 with a Basic challenge for a private project without credentials', async () => {
      const res = await get('/v1/engines/pypi/simple/vendor-pkg/')
      expect(res.statusCode).toBe(401)
      expect(res.headers['www-authenticate']).toBe('Basic realm="pkgway"')
      expect(res.headers['content-type']).toBe(HTML)
      expect(res.body).toBe('Unauthorized')
    })

    it('answers 403 to a license of another product', async () => {
      const res = await get('/v1/engines/pypi/simple/vendor-pkg/', asLicense(keys.other))
      expect(res.statusCode).toBe(403)
      expect(res.headers['content-type']).toBe(HTML)
      expect(res.body).toBe('Forbidden')
    })

    it('answers 401 with the Basic challenge to an unknown license key', async () => {
      const res = await get('/v1/engines/pypi/simple/vendor-pkg/', asLicense('NOPE-NOPE'))
      expect(res.statusCode).toBe(401)
      expect(res.headers['www-authenticate']).toBe('Basic realm="pkgway"')
      expect(res.body).toBe('Unauthorized')
    })

    it('answers 400 to a name no packaging tool would send, and 404 to unknown engine paths', async () => {
      const bad = await get('/v1/engines/pypi/simple/-bad-/')
      expect(bad.statusCode).toBe(400)
      expect(bad.body).toBe('Bad Request')
      const unknown = await get('/v1/engines/pypi/nothing-here')
      expect(unknown.statusCode).toBe(404)
      expect(unknown.headers['content-type']).toBe(HTML)
      expect(unknown.body).toBe('Not Found')
      const account404 = await get('/v1/accounts/no-such-account/engines/pypi/simple/')
      expect(account404.statusCode).toBe(404)
      expect(account404.body).toBe('Not Found')
    })

    it('answers 304 to a matching If-None-Match and 200 with the ETag otherwise', async () => {
      const headers = asLicense(keys.vendor)
      const first = await get('/v1/engines/pypi/simple/vendor-pkg/', headers)
      const etag = first.headers.etag as string
      const again = await get('/v1/engines/pypi/simple/vendor-pkg/', { ...headers, 'if-none-match': etag })
      expect(again.statusCode).toBe(304)
      expect(again.body).toBe('')
      expect(again.headers.etag).toBe(etag)
      const star = await get('/v1/engines/pypi/simple/vendor-pkg/', { ...headers, 'if-none-match': '*' })
      expect(star.statusCode).toBe(304)
      const stale = await get('/v1/engines/pypi/simple/vendor-pkg/', { ...headers, 'if-none-match': 'W/"foo"' })
      expect(stale.statusCode).toBe(200)
      expect(stale.headers.etag).toBe(etag)
      const json = await get('/v1/engines/pypi/simple/vendor-pkg/', { ...headers, accept: JSON_TYPE })
      expect(json.headers.etag).not.toBe(etag)
    })

    it('shows a publish on the next request (the account revision is part of the cache key)', async () => {
      const headers = asLicense(keys.vendor, { accept: JSON_TYPE })
      const before = await get('/v1/engines/pypi/simple/vendor-pkg/', headers)
      const release = await seedRelease(gw.catalog.db, account, {
        product: vendor,
        package: vendorPkg,
        version: '1.3.0',
        status: 'PUBLISHED',
      })
      const file = await seedFile(gw.catalog.db, account, { release, filename: 'vendor_pkg-1.3.0-py3-none-any.whl' })
      const after = await get('/v1/engines/pypi/simple/vendor-pkg/', {
        ...headers,
        'if-none-match': before.headers.etag as string,
      })
      expect(after.statusCode).toBe(200)
      expect(JSON.parse(after.body).files[0].filename).toBe('vendor_pkg-1.3.0-py3-none-any.whl')
      expect(JSON.parse(after.body).files[0].hashes).toEqual({})
      expect(after.body).not.toContain('#sha256')
      await gw.catalog.db.deleteFrom('artifacts').where('id', '=', file.id).execute()
      await gw.catalog.db.deleteFrom('releases').where('id', '=', release.id).execute()
      await bumpRevision(gw.catalog.db, account.id)
      const restored = await get('/v1/engines/pypi/simple/vendor-pkg/', headers)
      expect(restored.body).toBe(before.body)
    })

    it('marks the OPEN project page public and a licensed one private', async () => {
      const open = await get(`/v1/engines/pypi/simple/${openPkg.key}/`)
      expect(open.statusCode).toBe(200)
      expect(open.headers['cache-control']).toBe('public, max-age=600')
      const licensed = await get('/v1/engines/pypi/simple/vendor-pkg/', asLicense(keys.vendor))
      expect(licensed.headers['cache-control']).toBe('private, max-age=600')
    })

    it('answers HEAD like GET without a body', async () => {
      const res = await gw.app.inject({
        method: 'HEAD',
        url: '/v1/engines/pypi/simple/vendor-pkg/',
        headers: asLicense(keys.vendor),
      })
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toBe(HTML)
      expect(res.body).toBe('')
    })

    it('lists nothing for another product (index) while the page itself is a 403', async () => {
      const res = await get('/v1/engines/pypi/simple/', asLicense(keys.other, { accept: JSON_TYPE }))
      expect(JSON.parse(res.body).projects).toEqual([{ name: 'Open_Tool' }, { name: 'other-pkg' }])
      expect(other.name).toBe('Other')
    })
  })
})
