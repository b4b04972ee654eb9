import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Account } from '../../../gateway/catalog/types.ts'
import { createTestGateway, type TestGateway } from '../../helpers/app.ts'
import { seedLicense, seedPackage, seedPolicy, seedProduct, seedRelease } from '../../helpers/seed.ts'
import { basicAuth, coreMetadata, seedFile, sha256 } from './fixtures.ts'

const BASE = '/'
const KEY = 'FILES-KEY-1'
const OTHER_KEY = 'FILES-KEY-2'
const HOSTILE = 'evil"><script>alert(1)</script>\'-1.0-py3-none-any.whl'
const HOSTILE_PYTHON = '"><script>alert(2)</script>'

let gw: TestGateway
let account: Account
const ids: Record<string, string> = {}
const wheelMetadata = coreMetadata('files-pkg', '1.0.0', { 'Requires-Python': '>=3.9' })

beforeAll(async () => {
  gw = await createTestGateway()
  const db = gw.catalog.db
  account = gw.account
  const product = await seedProduct(db, account, { strategy: 'LICENSED' })
  const otherProduct = await seedProduct(db, account, { strategy: 'LICENSED' })
  const open = await seedProduct(db, account, { strategy: 'OPEN' })
  await seedLicense(db, account, {
    policy: await seedPolicy(db, account, { product, authenticationStrategy: 'LICENSE' }),
    key: KEY,
  })
  await seedLicense(db, account, {
    policy: await seedPolicy(db, account, { product: otherProduct, authenticationStrategy: 'LICENSE' }),
    key: OTHER_KEY,
  })
  const pkg = await seedPackage(db, account, { product, key: 'files-pkg', engine: 'pypi' })
  const release = await seedRelease(db, account, { product, package: pkg, version: '1.0.0', status: 'PUBLISHED' })
  const draft = await seedRelease(db, account, { product, package: pkg, version: '1.1.0', status: 'DRAFT' })
  ids.wheel = (
    await seedFile(db, account, {
      release,
      filename: 'files_pkg-1.0.0-py3-none-any.whl',
      sha256: sha256('w'),
      coreMetadata: wheelMetadata,
    })
  ).id
  ids.sdist = (await seedFile(db, account, { release, filename: 'files_pkg-1.0.0.tar.gz' })).id
  ids.failed = (
    await seedFile(db, account, { release, filename: 'files_pkg-1.0.0-py2-none-any.whl', status: 'FAILED' })
  ).id
  ids.draft = (await seedFile(db, account, { release: draft, filename: 'files_pkg-1.1.0-py3-none-any.whl' })).id

  const evilPkg = await seedPackage(db, account, { product: open, key: 'evil', engine: 'pypi' })
  const evilRelease = await seedRelease(db, account, {
    product: open,
    package: evilPkg,
    version: '1.0.0',
    status: 'PUBLISHED',
  })
  ids.evil = (
    await seedFile(db, account, {
      release: evilRelease,
      filename: HOSTILE,
      createdAt: '2024-05-05T05:05:05.000Z',
      coreMetadata: coreMetadata('evil', '1.0', { 'Requires-Python': HOSTILE_PYTHON }),
    })
  ).id

  const rawPkg = await seedPackage(db, account, { product: open, key: 'raw-thing', engine: 'raw' })
  const rawRelease = await seedRelease(db, account, { product: open, package: rawPkg, status: 'PUBLISHED' })
  ids.raw = (await seedFile(db, account, { release: rawRelease, filename: 'raw_thing-1.0-py3-none-any.whl' })).id
})

afterAll(async () => {
  await gw?.close()
})

const get = (url: string, headers: Record<string, string> = {}) => gw.app.inject({ method: 'GET', url, headers })
const licensed = { authorization: basicAuth('license', KEY) }
const filePath = (id: string, name: string) => `/v1/accounts/${account.id}/engines/pypi/files/${id}/${name}`

describe('GET /v1/accounts/:account/engines/pypi/files/:artifact/:filename', () => {
  it('answers 303 to the artifact download route', async () => {
    const res = await get(filePath(ids.wheel, 'files_pkg-1.0.0-py3-none-any.whl'), licensed)
    expect(res.statusCode).toBe(303)
    expect(res.headers.location).toBe(
      `${BASE}v1/accounts/${account.id}/artifacts/${ids.wheel}/files_pkg-1.0.0-py3-none-any.whl`,
    )
  })

  it('authorizes exactly like the page: 401 with a Basic challenge, 403 for another product', async () => {
    const anonymous = await get(filePath(ids.wheel, 'files_pkg-1.0.0-py3-none-any.whl'))
    expect(anonymous.statusCode).toBe(401)
    expect(anonymous.headers['www-authenticate']).toBe('Basic realm="pkgway"')
    const other = await get(filePath(ids.wheel, 'files_pkg-1.0.0-py3-none-any.whl'), {
      authorization: basicAuth('license', OTHER_KEY),
    })
    expect(other.statusCode).toBe(403)
    expect(other.body).toBe('Forbidden')
  })

  it('answers 404 for files the principal cannot list, other filenames, other engines and bad ids', async () => {
    for (const url of [
      filePath(ids.failed, 'files_pkg-1.0.0-py2-none-any.whl'),
      filePath(ids.draft, 'files_pkg-1.1.0-py3-none-any.whl'),
      filePath(ids.wheel, 'other.whl'),
      filePath(ids.raw, 'raw_thing-1.0-py3-none-any.whl'),
      filePath('not-a-uuid', 'x.whl'),
      filePath('00000000-0000-4000-8000-000000000000', 'x.whl'),
    ]) {
      const res = await get(url, licensed)
      expect(res.statusCode, url).toBe(404)
      expect(res.body).toBe('Not Found')
    }
  })
})

describe('GET …/files/:artifact/:filename.metadata (PEP 658)', () => {
  it('serves the stored METADATA whose sha256 the page advertises', async () => {
    const page = await get('/v1/engines/pypi/simple/files-pkg/', licensed)
    const advertised = /data-core-metadata="sha256=([0-9a-f]{64})"/.exec(page.body)?.[1]
    const res = await get(filePath(ids.wheel, 'files_pkg-1.0.0-py3-none-any.whl.metadata'), licensed)
    expect(res.statusCode).toBe(200)
    expect(res.body).toBe(wheelMetadata)
    expect(sha256(res.rawPayload)).toBe(advertised)
    expect(res.headers.etag).toBe(`"${advertised}"`)
    expect(res.headers['cache-control']).toBe('private, max-age=600')
    const again = await get(filePath(ids.wheel, 'files_pkg-1.0.0-py3-none-any.whl.metadata'), {
      ...licensed,
      'if-none-match': res.headers.etag as string,
    })
    expect(again.statusCode).toBe(304)
  })

  it('answers 404 for a file without core metadata, and 401 without credentials', async () => {
    expect((await get(filePath(ids.sdist, 'files_pkg-1.0.0.tar.gz.metadata'), licensed)).statusCode).toBe(404)
    expect((await get(filePath(ids.wheel, 'files_pkg-1.0.0-py3-none-any.whl.metadata'))).statusCode).toBe(401)
  })
})

describe('HTML escaping', () => {
  it('escapes hostile filenames and Requires-Python values in text, attributes and URLs', async () => {
    const res = await get('/v1/engines/pypi/simple/evil/')
    expect(res.statusCode).toBe(200)
    const href =
      `${BASE}v1/accounts/${account.id}/engines/pypi/files/${ids.evil}/` +
      'evil%22%3E%3Cscript%3Ealert(1)%3C/script%3E&#39;-1.0-py3-none-any.whl'
    const digest = sha256(coreMetadata('evil', '1.0', { 'Requires-Python': HOSTILE_PYTHON }))
    expect(res.body.split('\n')[8]).toBe(
      `    <a href="${href}" data-requires-python="&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;" ` +
        `data-dist-info-metadata="sha256=${digest}" data-core-metadata="sha256=${digest}">` +
        'evil&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&#39;-1.0-py3-none-any.whl</a><br>',
    )
    expect(res.body).not.toContain('<script>')
    const json = JSON.parse(
      (await get('/v1/engines/pypi/simple/evil/', { accept: 'application/vnd.pypi.simple.v1+json' })).body,
    )
    expect(json.files[0].filename).toBe(HOSTILE)
    expect(json.files[0]['requires-python']).toBe(HOSTILE_PYTHON)
  })

  it('resolves the hostile file URL back to the artifact', async () => {
    const url = filePath(ids.evil, HOSTILE.split('/').map(encodeURIComponent).join('/'))
    const res = await get(url)
    expect(res.statusCode).toBe(303)
    expect(res.headers['cache-control']).toBeUndefined()
  })
})
