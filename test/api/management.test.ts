import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestGateway, type TestGateway } from '../helpers/app.ts'
import { catalogKinds } from '../helpers/catalog.ts'

/** The management API a vendor uses to set up products, licensing and tokens (management-api.md §2, §6). */

describe.each(catalogKinds)('management API on %s', (kind) => {
  let gw: TestGateway
  const ids: Record<string, string> = {}

  beforeAll(async () => {
    gw = await createTestGateway({ catalog: kind })
  })
  afterAll(async () => {
    await gw?.close()
  })

  const call = async (
    method: string,
    url: string,
    payload?: unknown,
    token: string | null = gw.adminToken,
    headers = {},
  ) => {
    const res = await gw.app.inject({
      method: method as 'GET',
      url,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(payload ? { 'content-type': 'application/vnd.api+json' } : {}),
        ...headers,
      },
      payload: payload as string,
    })
    return { status: res.statusCode, headers: res.headers, body: res.body ? res.json() : undefined }
  }

  it('creates a product and reads it back by id and by code', async () => {
    const res = await call('POST', '/v1/products', {
      data: {
        type: 'product',
        attributes: { name: 'App', code: 'app', distributionStrategy: 'LICENSED', metadata: { fooBar: 1 } },
      },
    })
    expect(res.status).toBe(201)
    expect(res.body.data).toMatchObject({
      type: 'products',
      attributes: { name: 'App', code: 'app', distributionStrategy: 'LICENSED', metadata: { fooBar: 1 } },
      relationships: { account: { data: { type: 'accounts', id: gw.account.id } } },
      links: { self: `/v1/accounts/${gw.account.id}/products/${res.body.data.id}` },
    })
    ids.product = res.body.data.id
    expect((await call('GET', '/v1/products/app')).body.data.id).toBe(ids.product)
    expect((await call('GET', `/v1/accounts/default/products/${ids.product}`)).status).toBe(200)
    const dup = await call('POST', '/v1/products', {
      data: { type: 'products', attributes: { name: 'Other', code: 'APP' } },
    })
    expect(dup.status).toBe(422)
    expect(dup.body.errors[0]).toMatchObject({ code: 'CODE_TAKEN', source: { pointer: '/data/attributes/code' } })
  })

  it('requires authentication and admin rights for products', async () => {
    const anon = await call('GET', '/v1/products', undefined, null)
    expect(anon.status).toBe(401)
    expect(anon.headers['www-authenticate']).toBe('Bearer realm="keygen"')
    expect(anon.body.errors[0]).toMatchObject({
      code: 'TOKEN_MISSING',
      detail: 'You must be authenticated to complete the request',
    })
  })

  it('issues a product token (200) that manages its own product but not the account', async () => {
    const res = await call('POST', `/v1/products/${ids.product}/tokens`, {
      data: { type: 'tokens', attributes: { name: 'ci' } },
    })
    expect(res.status).toBe(200)
    expect(res.body.data.attributes).toMatchObject({ kind: 'product-token', name: 'ci' })
    ids.productToken = res.body.data.attributes.token
    expect(
      (await call('GET', '/v1/products', undefined, ids.productToken)).body.data.map((p: { id: string }) => p.id),
    ).toEqual([ids.product])
    expect(
      (await call('POST', '/v1/products', { data: { type: 'products', attributes: { name: 'X' } } }, ids.productToken))
        .status,
    ).toBe(403)
    const again = await call('GET', `/v1/products/${ids.product}/tokens`, undefined, ids.productToken)
    expect(again.status).toBe(404)
  })

  it('creates packages with a product token, normalizing PyPI keys and registering the engine', async () => {
    const res = await call(
      'POST',
      '/v1/packages',
      {
        data: {
          type: 'packages',
          attributes: { name: 'Vendor Pkg', key: 'Vendor__Pkg.Core', engine: 'pypi' },
          relationships: { product: { data: { type: 'products', id: ids.product } } },
        },
      },
      ids.productToken,
    )
    expect(res.status).toBe(201)
    expect(res.body.data.attributes).toMatchObject({ key: 'Vendor-Pkg-Core', engine: 'pypi' })
    ids.package = res.body.data.id
    const engines = await call('GET', '/v1/engines')
    expect(engines.body.data.map((e: { attributes: { key: string } }) => e.attributes.key)).toEqual(['pypi'])
    expect((await call('GET', '/v1/engines/pypi')).body.data.attributes.key).toBe('pypi')
    expect((await call('GET', '/v1/engines/npm')).status).toBe(404)
    const bad = await call('POST', '/v1/packages', {
      data: {
        type: 'packages',
        attributes: { name: 'x', key: 'x', engine: 'cargo' },
        relationships: { product: { data: { type: 'products', id: ids.product } } },
      },
    })
    expect(bad.status).toBe(422)
    expect(bad.body.errors[0].code).toBe('ENGINE_NOT_ALLOWED')
  })

  it('manages entitlements, policies and licenses, and a license key then authenticates', async () => {
    const ent = await call('POST', '/v1/entitlements', {
      data: { type: 'entitlements', attributes: { name: 'Insider', code: 'INSIDER' } },
    })
    expect(ent.status).toBe(201)
    ids.entitlement = ent.body.data.id
    const policy = await call('POST', '/v1/policies', {
      data: {
        type: 'policies',
        attributes: { name: 'Std', authenticationStrategy: 'LICENSE', expirationStrategy: 'RESTRICT_ACCESS' },
        relationships: { product: { data: { type: 'products', id: ids.product } } },
      },
    })
    expect(policy.status).toBe(201)
    ids.policy = policy.body.data.id
    const attached = await call('POST', `/v1/policies/${ids.policy}/entitlements`, {
      data: [{ type: 'entitlements', id: ids.entitlement }],
    })
    expect(attached.status).toBe(200)
    const license = await call('POST', '/v1/licenses', {
      data: {
        type: 'licenses',
        attributes: { name: 'ACME' },
        relationships: { policy: { data: { type: 'policies', id: ids.policy } } },
      },
    })
    expect(license.status).toBe(201)
    expect(license.body.data.attributes.key).toMatch(/^([0-9A-F]{6}-){5}[0-9A-F]{0,4}V3$/)
    expect(license.body.data.attributes.status).toBe('ACTIVE')
    expect(license.body.data.relationships.product.data.id).toBe(ids.product)
    ids.license = license.body.data.id
    ids.licenseKey = license.body.data.attributes.key
    const me = await gw.app.inject({
      method: 'GET',
      url: '/v1/me',
      headers: { authorization: `License ${ids.licenseKey}` },
    })
    expect(me.statusCode).toBe(200)
    expect(me.json().data).toMatchObject({ type: 'licenses', id: ids.license })
    expect((await call('GET', `/v1/licenses/${ids.licenseKey}`)).body.data.id).toBe(ids.license)
  })

  it('suspends and reinstates a license; a suspended key is refused with 403 LICENSE_SUSPENDED', async () => {
    const suspended = await call('POST', `/v1/licenses/${ids.license}/actions/suspend`)
    expect(suspended.status).toBe(200)
    expect(suspended.body.data.attributes).toMatchObject({ suspended: true, status: 'SUSPENDED' })
    const me = await gw.app.inject({
      method: 'GET',
      url: '/v1/me',
      headers: { authorization: `License ${ids.licenseKey}` },
    })
    expect(me.statusCode).toBe(403)
    expect(me.json().errors[0].code).toBe('LICENSE_SUSPENDED')
    expect((await call('POST', `/v1/licenses/${ids.license}/actions/reinstate`)).body.data.attributes.suspended).toBe(
      false,
    )
  })

  it('issues license tokens that authenticate only when the policy allows tokens', async () => {
    const token = await call('POST', `/v1/licenses/${ids.license}/tokens`, undefined, ids.productToken)
    expect(token.status).toBe(200)
    expect(token.body.data.attributes.kind).toBe('activation-token')
    const raw = token.body.data.attributes.token
    expect(raw).toMatch(/^activ-[0-9a-f]{32}v3$/)
    const refused = await call('GET', '/v1/me', undefined, raw)
    expect(refused.status).toBe(403)
    expect(refused.body.errors[0].code).toBe('TOKEN_NOT_ALLOWED')
    await call('PATCH', `/v1/policies/${ids.policy}`, {
      data: { type: 'policies', attributes: { authenticationStrategy: 'MIXED' } },
    })
    expect((await call('GET', '/v1/me', undefined, raw)).status).toBe(200)
  })

  it('creates users who log in with POST /v1/tokens and see their own licenses', async () => {
    const user = await call('POST', '/v1/users', {
      data: { type: 'users', attributes: { email: 'Dev@Example.com', password: 'secret-pass', firstName: 'Dev' } },
    })
    expect(user.status).toBe(201)
    ids.user = user.body.data.id
    expect(
      (await call('POST', `/v1/licenses/${ids.license}/users`, { data: [{ type: 'users', id: ids.user }] })).status,
    ).toBe(200)
    const login = await gw.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: { authorization: `Basic ${Buffer.from('dev@example.com:secret-pass').toString('base64')}` },
    })
    expect(login.statusCode).toBe(201)
    expect(login.json().data.attributes.kind).toBe('user-token')
    const userToken = login.json().data.attributes.token
    expect(userToken).toMatch(/^user-[0-9a-f]{64}v3$/)
    const me = await call('GET', '/v1/me', undefined, userToken)
    expect(me.body.data).toMatchObject({
      type: 'users',
      id: ids.user,
      attributes: { email: 'Dev@Example.com', fullName: 'Dev' },
    })
    const wrong = await gw.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: { authorization: `Basic ${Buffer.from('dev@example.com:nope').toString('base64')}` },
    })
    expect(wrong.statusCode).toBe(401)
    expect(wrong.headers['www-authenticate']).toBe('Basic realm="keygen"')
  })

  it('paginates with limit and page[number]/page[size] links', async () => {
    for (const code of ['E1', 'E2', 'E3']) {
      await call('POST', '/v1/entitlements', { data: { type: 'entitlements', attributes: { name: code, code } } })
    }
    const limited = await call('GET', '/v1/entitlements?limit=2')
    expect(limited.body.data).toHaveLength(2)
    expect(limited.body.data[0].attributes.code).toBe('E3')
    const page = await call('GET', '/v1/entitlements?page[number]=2&page[size]=3&order=asc')
    expect(page.body.data.map((e: { attributes: { code: string } }) => e.attributes.code)).toEqual(['E3'])
    expect(page.body.links).toEqual({
      self: '/v1/entitlements?page[number]=2&page[size]=3&order=asc',
      prev: '/v1/entitlements?page[number]=1&page[size]=3&order=asc',
      next: null,
      first: '/v1/entitlements?page[number]=1&page[size]=3&order=asc',
      last: '/v1/entitlements?page[number]=2&page[size]=3&order=asc',
      meta: { pages: 2, count: 4 },
    })
  })

  it('filters releases by channel cumulatively and by package, blank meaning none', async () => {
    const make = async (version: string, channel: string, pkg?: string) => {
      const res = await call('POST', '/v1/releases', {
        data: {
          type: 'releases',
          attributes: { version, channel, status: 'PUBLISHED' },
          relationships: {
            product: { data: { type: 'products', id: ids.product } },
            ...(pkg ? { package: { data: { type: 'packages', id: pkg } } } : {}),
          },
        },
      })
      expect(res.status).toBe(201)
    }
    await make('1.0.0', 'stable', ids.package)
    await make('1.1.0-rc.1', 'rc', ids.package)
    await make('1.2.0-beta.1', 'beta', ids.package)
    await make('2.0.0-dev.1', 'dev')
    const versions = async (qs: string) =>
      (await call('GET', `/v1/releases?${qs}`)).body.data
        .map((r: { attributes: { version: string } }) => r.attributes.version)
        .sort()
    expect(await versions('channel=stable')).toEqual(['1.0.0'])
    expect(await versions('channel=beta')).toEqual(['1.0.0', '1.1.0-rc.1', '1.2.0-beta.1'])
    expect(await versions('channel=dev')).toEqual(['2.0.0-dev.1'])
    expect(await versions('package=')).toEqual(['2.0.0-dev.1'])
    expect(await versions('package=Vendor-Pkg-Core')).toEqual(['1.0.0', '1.1.0-rc.1', '1.2.0-beta.1'])
    expect(await versions('engine=pypi')).toEqual(['1.0.0', '1.1.0-rc.1', '1.2.0-beta.1'])
    expect(await versions('engine=')).toEqual(['2.0.0-dev.1'])
    const constrained = await call('POST', '/v1/releases', {
      data: {
        type: 'releases',
        attributes: { version: '9.0.0', channel: 'stable' },
        relationships: {
          product: { data: { type: 'products', id: ids.product } },
          constraints: {
            data: [
              {
                type: 'constraints',
                relationships: { entitlement: { data: { type: 'entitlements', id: ids.entitlement } } },
              },
            ],
          },
        },
      },
    })
    expect(constrained.status).toBe(201)
    expect(await versions('entitlements[]=INSIDER')).toContain('9.0.0')
    expect(await versions('entitlements[]=E1')).not.toContain('9.0.0')
    expect(await versions('constraints[]=insider&constraints[]=E1')).toContain('9.0.0')
  })

  it('hides the product’s releases from a license of another product (404, not 403)', async () => {
    const other = await call('POST', '/v1/products', {
      data: { type: 'products', attributes: { name: 'Other', code: 'other' } },
    })
    const policy = await call('POST', '/v1/policies', {
      data: {
        type: 'policies',
        attributes: { name: 'P', authenticationStrategy: 'LICENSE' },
        relationships: { product: { data: { type: 'products', id: other.body.data.id } } },
      },
    })
    const license = await call('POST', '/v1/licenses', {
      data: {
        type: 'licenses',
        attributes: { key: 'OTHER-LICENSE-KEY' },
        relationships: { policy: { data: { type: 'policies', id: policy.body.data.id } } },
      },
    })
    expect(license.status).toBe(201)
    const res = await gw.app.inject({
      method: 'GET',
      url: `/v1/releases/1.0.0?product=${ids.product}`,
      headers: { authorization: 'License OTHER-LICENSE-KEY' },
    })
    expect(res.statusCode).toBe(404)
    const mine = await gw.app.inject({
      method: 'GET',
      url: `/v1/releases/1.0.0?product=${ids.product}`,
      headers: { authorization: `License ${ids.licenseKey}` },
    })
    expect(mine.statusCode).toBe(200)
    const publish = await gw.app.inject({
      method: 'POST',
      url: `/v1/releases/${mine.json().data.id}/actions/yank`,
      headers: { authorization: `License ${ids.licenseKey}` },
    })
    expect(publish.statusCode).toBe(403)
  })

  it('revokes tokens with DELETE /v1/tokens/:id', async () => {
    const list = await call('GET', '/v1/tokens', undefined, ids.productToken)
    expect(list.body.data).toHaveLength(1)
    const del = await call('DELETE', `/v1/tokens/${list.body.data[0].id}`, undefined, ids.productToken)
    expect(del.status).toBe(204)
    expect((await call('GET', '/v1/products', undefined, ids.productToken)).status).toBe(401)
  })
})

describe('POST /v1/tokens throttling', () => {
  it('answers 429 as a JSON:API error with Retry-After after too many attempts', async () => {
    const gw = await createTestGateway()
    try {
      const attempt = () =>
        gw.app.inject({
          method: 'POST',
          url: '/v1/tokens',
          headers: { authorization: `Basic ${Buffer.from('nobody@example.com:wrong-pass').toString('base64')}` },
        })
      for (let i = 0; i < 20; i++) expect((await attempt()).statusCode).toBe(401)
      const limited = await attempt()
      expect(limited.statusCode).toBe(429)
      expect(limited.headers['retry-after']).toMatch(/^\d+$/)
      expect(limited.json().errors[0]).toMatchObject({ title: 'Too many requests', code: 'TOO_MANY_REQUESTS' })
    } finally {
      await gw.close()
    }
  })
})

describe('GET /v1/products/:id/engines', () => {
  it('lists the engines of a product’s packages, requires authentication and hides other products', async () => {
    const gw = await createTestGateway()
    try {
      const auth = { authorization: `Bearer ${gw.adminToken}`, 'content-type': 'application/vnd.api+json' }
      const post = (url: string, payload: unknown) =>
        gw.app.inject({ method: 'POST', url, headers: auth, payload: payload as object })
      const a = (
        await post('/v1/products', { data: { type: 'products', attributes: { name: 'A', code: 'a' } } })
      ).json().data.id
      const b = (
        await post('/v1/products', { data: { type: 'products', attributes: { name: 'B', code: 'b' } } })
      ).json().data.id
      for (const [product, key, engine] of [
        [a, 'a-py', 'pypi'],
        [b, 'b-raw', 'raw'],
      ]) {
        await post('/v1/packages', {
          data: {
            type: 'packages',
            attributes: { name: key, key, engine },
            relationships: { product: { data: { type: 'products', id: product } } },
          },
        })
      }
      const token = (await post(`/v1/products/${a}/tokens`, undefined)).json().data.attributes.token
      const keys = async (url: string, authorization: string) =>
        (await gw.app.inject({ method: 'GET', url, headers: { authorization } }))
          .json()
          .data.map((e: { attributes: { key: string } }) => e.attributes.key)
      expect(await keys('/v1/products/a/engines', auth.authorization)).toEqual(['pypi'])
      expect(await keys('/v1/products/b/engines', auth.authorization)).toEqual(['raw'])
      expect(await keys(`/v1/products/${a}/engines`, `Bearer ${token}`)).toEqual(['pypi'])
      expect(
        (
          await gw.app.inject({
            method: 'GET',
            url: '/v1/products/b/engines',
            headers: { authorization: `Bearer ${token}` },
          })
        ).statusCode,
      ).toBe(404)
      expect(
        (
          await gw.app.inject({
            method: 'GET',
            url: '/v1/products/a/engines/pypi',
            headers: { authorization: `Bearer ${token}` },
          })
        ).json().data.attributes.key,
      ).toBe('pypi')
      expect(
        (await gw.app.inject({ method: 'GET', url: '/v1/products/a/engines/raw', headers: auth })).statusCode,
      ).toBe(404)
      expect((await gw.app.inject({ method: 'GET', url: '/v1/products/a/engines' })).statusCode).toBe(401)
    } finally {
      await gw.close()
    }
  })
})
