import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestGateway, type TestGateway } from '../helpers/app.ts'

/**
 * Bad input always gets a clear JSON:API error, never a 500 (the keygen CLI panics on any 5xx). Every case
 * here is something a client, a typo or an attacker has sent or could send.
 */

let gw: TestGateway
let productId: string
let releaseId: string

beforeAll(async () => {
  gw = await createTestGateway()
  const auth = { authorization: `Bearer ${gw.adminToken}`, 'content-type': 'application/vnd.api+json' }
  const product = await gw.app.inject({
    method: 'POST',
    url: '/v1/products',
    headers: auth,
    payload: { data: { type: 'products', attributes: { name: 'P', code: 'p' } } },
  })
  productId = product.json().data.id
  const release = await gw.app.inject({
    method: 'POST',
    url: '/v1/releases',
    headers: auth,
    payload: {
      data: {
        type: 'releases',
        attributes: { version: '1.0.0', channel: 'stable' },
        relationships: { product: { data: { type: 'products', id: productId } } },
      },
    },
  })
  releaseId = release.json().data.id
})
afterAll(async () => {
  await gw?.close()
})

function expectJsonApiError(
  res: { statusCode: number; headers: Record<string, unknown>; body: string },
  status: number,
) {
  expect(res.statusCode, res.body).toBe(status)
  expect(res.headers['content-type']).toMatch(/^application\/(vnd\.api\+)?json; charset=utf-8$/)
  const doc = JSON.parse(res.body)
  expect(Array.isArray(doc.errors)).toBe(true)
  expect(doc.errors[0].title).toEqual(expect.any(String))
  expect(doc.errors[0].detail).toEqual(expect.any(String))
  expect(doc.meta.id).toEqual(expect.any(String))
}

describe('malformed credentials', () => {
  const cases: Array<[string, string, number]> = [
    ['an empty bearer token', 'Bearer ', 401],
    ['a UUID instead of a token', 'Bearer 6c0da67f-73ec-5354-8f9b-156fcf093d95', 401],
    ['an unknown token', `Bearer admin-${'f'.repeat(64)}v3`, 401],
    ['a bearer token with spaces', 'Bearer a b c', 401],
    ['Basic that is not base64', 'Basic !!!not-base64!!!', 401],
    ['Basic with an empty license key', `Basic ${Buffer.from('license:').toString('base64')}`, 401],
    ['Basic with invalid UTF-8', `Basic ${Buffer.from([0xff, 0xfe, 0x3a, 0x41]).toString('base64')}`, 401],
    ['an empty License scheme', 'License ', 401],
    ['an unknown license key', 'License NOPE-NOPE-NOPE', 401],
    ['a 10 KB token', `Bearer ${'x'.repeat(10_000)}`, 401],
  ]
  it.each(cases)('answers %s with a JSON:API error', async (_name, authorization, status) => {
    const res = await gw.app.inject({ method: 'GET', url: '/v1/releases', headers: { authorization } })
    expectJsonApiError(res, status)
    expect(res.headers['www-authenticate']).toMatch(/realm="keygen"$/)
  })

  it('treats an unknown scheme as anonymous, which the releases list shows as nothing', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/v1/releases', headers: { authorization: 'Digest abc' } })
    expect(res.statusCode).toBe(200)
    expect(res.json().data).toEqual([])
  })

  it.each([
    ['an array-valued auth parameter', '/v1/releases?auth=a&auth=b'],
    ['an empty token parameter', '/v1/releases?token='],
    ['a license: prefix without a key', '/v1/releases?auth=license:'],
  ])('answers %s without a 500', async (_name, url) => {
    const res = await gw.app.inject({ method: 'GET', url })
    expect(res.statusCode).toBeLessThan(500)
  })
})

describe('malformed query parameters', () => {
  it.each([
    ['limit=abc', 400],
    ['limit=0', 400],
    ['limit=1000', 400],
    ['page[size]=1000', 400],
    ['page[number]=-1', 400],
    ['page=1', 400],
    ['order=sideways', 400],
    ['limit=1&limit=2', 400],
  ])('GET /v1/releases?%s answers %i', async (qs, status) => {
    const res = await gw.app.inject({
      method: 'GET',
      url: `/v1/releases?${qs}`,
      headers: { authorization: `Bearer ${gw.adminToken}` },
    })
    expectJsonApiError(res, status)
    expect(JSON.parse(res.body).errors[0].source.parameter).toEqual(expect.any(String))
  })

  it('answers an unknown Keygen-Version with 400 INVALID_API_VERSION', async () => {
    const res = await gw.app.inject({
      method: 'GET',
      url: '/v1/releases',
      headers: { authorization: `Bearer ${gw.adminToken}`, 'keygen-version': '9.9' },
    })
    expectJsonApiError(res, 400)
    expect(res.json().errors[0].code).toBe('INVALID_API_VERSION')
  })

  it('answers a Keygen-Environment header with 400 ENVIRONMENT_NOT_SUPPORTED', async () => {
    const res = await gw.app.inject({
      method: 'GET',
      url: '/v1/releases',
      headers: { 'keygen-environment': 'isolated' },
    })
    expectJsonApiError(res, 400)
    expect(res.json().errors[0].code).toBe('ENVIRONMENT_NOT_SUPPORTED')
  })
})

describe('malformed bodies', () => {
  const post = (payload: string, contentType = 'application/vnd.api+json') =>
    gw.app.inject({
      method: 'POST',
      url: '/v1/releases',
      headers: { authorization: `Bearer ${gw.adminToken}`, 'content-type': contentType },
      payload,
    })
  // Built lazily: the product only exists once beforeAll has run.
  const release = (attributes: unknown, relationships?: unknown) => (): string =>
    JSON.stringify({
      data: {
        type: 'releases',
        attributes,
        relationships: relationships ?? { product: { data: { type: 'products', id: productId } } },
      },
    })

  it.each([
    ['truncated JSON', '{"data":', 400],
    ['a JSON array', '[]', 400],
    ['JSON null', 'null', 400],
    ['a JSON string', '"release"', 400],
    ['data as an array', '{"data":[]}', 400],
    ['a wrong type', '{"data":{"type":"artifacts","attributes":{}}}', 400],
    ['attributes as an array', '{"data":{"type":"releases","attributes":[]}}', 400],
    ['a numeric version', release({ version: 1, channel: 'stable' }), 400],
    ['an unknown attribute', release({ version: '1.0.1', channel: 'stable', colour: 'red' }), 400],
    ['an unknown relationship', release({ version: '1.0.1', channel: 'stable' }, { owner: { data: null } }), 400],
    [
      'a product id that is a number',
      release({ version: '1.0.1', channel: 'stable' }, { product: { data: { type: 'products', id: 7 } } }),
      400,
    ],
    [
      'a product that does not exist',
      release({ version: '1.0.1', channel: 'stable' }, { product: { data: { type: 'products', id: 'nope' } } }),
      422,
    ],
    ['a v-prefixed version', release({ version: 'v1.0.1', channel: 'stable' }), 422],
    ['a version that is not semver', release({ version: '1.0', channel: 'stable' }), 422],
    ['an unknown channel', release({ version: '1.0.1', channel: 'nightly' }), 422],
    ['a prerelease word that is not a channel', release({ version: '1.0.1-foo.1', channel: 'beta' }), 422],
    ['a reserved tag', release({ version: '1.0.1', channel: 'stable', tag: 'actions' }), 422],
    [
      'a future backdated date',
      release({ version: '1.0.1', channel: 'stable', backdated: '2999-01-01T00:00:00Z' }),
      422,
    ],
    ['metadata that is a string', release({ version: '1.0.1', channel: 'stable', metadata: 'x' }), 400],
  ])('answers %s with %i', async (_name, payload, status) => {
    expectJsonApiError(await post(typeof payload === 'function' ? payload() : payload), status)
  })

  it('answers a body over the limit with 413', async () => {
    expectJsonApiError(await post(`{"data":{"type":"releases","attributes":{"name":"${'x'.repeat(1_100_000)}"}}}`), 413)
  })

  it('answers an unsupported content type with 415', async () => {
    expectJsonApiError(await post('version=1.0.0', 'application/x-www-form-urlencoded'), 415)
  })

  it('answers a duplicate tag with 422 TAG_TAKEN and leaves the first release intact', async () => {
    const first = await post(release({ version: '3.0.0', channel: 'stable', tag: 'latest' })())
    expect(first.statusCode).toBe(201)
    const second = await post(release({ version: '3.0.1', channel: 'stable', tag: 'latest' })())
    expectJsonApiError(second, 422)
    expect(second.json().errors[0]).toMatchObject({ code: 'TAG_TAKEN', source: { pointer: '/data/attributes/tag' } })
    const latest = await gw.app.inject({
      method: 'GET',
      url: '/v1/releases/latest',
      headers: { authorization: `Bearer ${gw.adminToken}` },
    })
    expect(latest.json().data.attributes.version).toBe('3.0.0')
  })

  it.each([
    ['a filename with ..', '../escape.bin'],
    ['an absolute filename', '/etc/passwd'],
    ['a filename with an empty segment', 'a//b.bin'],
  ])('rejects an artifact with %s', async (_name, filename) => {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v1/artifacts',
      headers: { authorization: `Bearer ${gw.adminToken}`, 'content-type': 'application/vnd.api+json' },
      payload: {
        data: {
          type: 'artifacts',
          attributes: { filename },
          relationships: { release: { data: { type: 'releases', id: releaseId } } },
        },
      },
    })
    expectJsonApiError(res, 422)
    expect(res.json().errors[0].code).toBe('FILENAME_INVALID')
  })

  it('rejects an artifact whose filename does not end with its filetype', async () => {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v1/artifacts',
      headers: { authorization: `Bearer ${gw.adminToken}`, 'content-type': 'application/vnd.api+json' },
      payload: {
        data: {
          type: 'artifacts',
          attributes: { filename: 'a.zip', filetype: 'tgz' },
          relationships: { release: { data: { type: 'releases', id: releaseId } } },
        },
      },
    })
    expectJsonApiError(res, 422)
    expect(res.json().errors[0].code).toBe('FILENAME_EXTENSION_INVALID')
  })
})

describe('malformed paths', () => {
  it.each([
    ['/v1/releases/%ZZ', 400],
    ['/v1/accounts/%00/releases', 404],
    ['/v1/accounts/nope/releases', 404],
    [`/v1/releases/${'x'.repeat(2000)}`, 414],
    ['/v1/artifacts/..%2F..%2Fetc%2Fpasswd', 404],
    ['/v1/blobs/..%2F..%2Fetc%2Fpasswd?method=GET&expires=1&sig=x', 403],
    ['/v1/nothing-here', 404],
  ])('GET %s answers %i', async (url, status) => {
    const res = await gw.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${gw.adminToken}` } })
    expectJsonApiError(res, status)
  })
})
