import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import authenticate, { authChallenge, requestCredentials, requireAuth } from '../../gateway/auth/plugin.ts'
import { AuthThrottle } from '../../gateway/auth/throttle.ts'
import type { Catalog } from '../../gateway/catalog/db.ts'
import type { AccountRow } from '../../gateway/catalog/types.ts'
import errorHandler from '../../gateway/plugins/error-handler.ts'
import { ReadModel } from '../../gateway/read-model/read-model.ts'
import { catalogKinds, openTestCatalog } from '../helpers/catalog.ts'
import { seedAccount, seedLicense, seedPolicy, seedProduct, seedToken } from '../helpers/seed.ts'

async function buildTestApp(catalog: Catalog): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  app.decorate('catalog', catalog)
  app.decorate('readModel', new ReadModel(catalog.db, catalog.revisions))
  app.decorate('authThrottle', new AuthThrottle({ maxFailures: 1000, windowSeconds: 60 }))
  await app.register(errorHandler)
  // The management API scope: default challenge Bearer.
  await app.register(async (api) => {
    await api.register(authenticate)
    const whoami = async (request: FastifyRequest) => ({
      account: request.account.slug,
      principal: request.principal.kind,
    })
    api.get('/v1/me', whoami)
    api.get('/v1/accounts/:account/me', whoami)
    api.get('/v1/private', async (request) => ({ principal: requireAuth(request).kind }))
    api.post('/v1/tokens', { config: { passwordAuth: true } }, async (request) => ({
      principal: request.principal.kind,
      credentials: requestCredentials(request),
    }))
  })
  // An engine scope that challenges with Basic in its own realm (OCI-like).
  await app.register(async (oci) => {
    await oci.register(authenticate, { challenge: 'Basic', realm: 'pkgway' })
    oci.get('/oci/:account/private', async (request) => {
      const principal = requireAuth(request)
      return { principal: principal.kind, challenge: authChallenge(request) }
    })
  })
  return app
}

async function setCreated(catalog: Catalog, account: AccountRow, created: string) {
  await catalog.db.updateTable('accounts').set({ created_at: created }).where('id', '=', account.id).execute()
}

describe.each(catalogKinds)('authenticate plugin on %s', (kind) => {
  let catalog: Catalog
  let app: FastifyInstance
  let main: AccountRow
  let acme: AccountRow
  let adminToken: string
  let acmeToken: string

  beforeAll(async () => {
    catalog = await openTestCatalog(kind)
    acme = await seedAccount(catalog.db, 'acme')
    main = await seedAccount(catalog.db, 'default')
    await setCreated(catalog, acme, '2020-01-01T00:00:00.000Z')
    adminToken = (await seedToken(catalog.db, main, { bearerType: 'admin' })).raw
    acmeToken = (await seedToken(catalog.db, acme, { bearerType: 'admin' })).raw
    app = await buildTestApp(catalog)
  })
  afterAll(async () => {
    await app.close()
    await catalog.close()
  })

  it('serves unscoped routes from the account with slug default, even when another account is older', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/me' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ account: 'default', principal: 'anonymous' })
  })

  it('resolves the :account parameter by slug, in any case, and by UUID', async () => {
    for (const ref of ['acme', 'ACME', acme.id, acme.id.toUpperCase()]) {
      const res = await app.inject({ method: 'GET', url: `/v1/accounts/${ref}/me` })
      expect(res.json(), ref).toEqual({ account: 'acme', principal: 'anonymous' })
    }
  })

  it('answers 404 NOT_FOUND for an unknown account', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/accounts/nope/me' })
    expect(res.statusCode).toBe(404)
    expect(res.json().errors).toEqual([
      { title: 'Not found', detail: "The requested account 'nope' was not found", code: 'NOT_FOUND' },
    ])
  })

  it('rejects a Keygen-Environment header with 400 ENVIRONMENT_NOT_SUPPORTED before reading credentials', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/v1/me',
      headers: { 'keygen-environment': 'staging', authorization: 'Bearer bogus' },
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().errors).toEqual([
      {
        title: 'Bad request',
        detail: 'is unsupported',
        code: 'ENVIRONMENT_NOT_SUPPORTED',
        source: { header: 'Keygen-Environment' },
      },
    ])
  })

  it('rejects ?environment= with 400 ENVIRONMENT_NOT_SUPPORTED pointing at the parameter', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/me?environment=' })
    expect(res.statusCode).toBe(400)
    expect(res.json().errors[0]).toMatchObject({
      code: 'ENVIRONMENT_NOT_SUPPORTED',
      source: { parameter: 'environment' },
    })
  })

  it('resolves a valid token to its principal', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${adminToken}` } })
    expect(res.json()).toEqual({ account: 'default', principal: 'staff' })
  })

  it('resolves a license key from the query on an account-scoped route', async () => {
    const product = await seedProduct(catalog.db, acme)
    const policy = await seedPolicy(catalog.db, acme, { product, authenticationStrategy: 'LICENSE' })
    const license = await seedLicense(catalog.db, acme, { policy })
    const res = await app.inject({ method: 'GET', url: `/v1/accounts/acme/me?auth=license:${license.key}` })
    expect(res.json()).toEqual({ account: 'acme', principal: 'license' })
  })

  it('never falls back to anonymous: an invalid token is a 401 with a Bearer challenge', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: 'Bearer nope' } })
    expect(res.statusCode).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Bearer realm="keygen"')
    expect(res.json().errors[0]).toMatchObject({ title: 'Unauthorized', code: 'TOKEN_INVALID' })
  })

  it('rejects a token of another account with 401', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/v1/accounts/default/me',
      headers: { authorization: `Bearer ${acmeToken}` },
    })
    expect(res.statusCode).toBe(401)
    expect(res.json().errors[0].code).toBe('TOKEN_INVALID')
  })

  it('answers requireAuth for anonymous callers with 401 TOKEN_MISSING and the scope’s challenge', async () => {
    const api = await app.inject({ method: 'GET', url: '/v1/private' })
    expect(api.statusCode).toBe(401)
    expect(api.headers['www-authenticate']).toBe('Bearer realm="keygen"')
    expect(api.json().errors).toEqual([
      { title: 'Unauthorized', detail: 'You must be authenticated to complete the request', code: 'TOKEN_MISSING' },
    ])
    const oci = await app.inject({ method: 'GET', url: '/oci/acme/private' })
    expect(oci.statusCode).toBe(401)
    expect(oci.headers['www-authenticate']).toBe('Basic realm="pkgway"')
    expect(oci.json().errors[0].code).toBe('TOKEN_MISSING')
  })

  it('challenges with the scheme the client used, and the scope’s default for query credentials', async () => {
    const bearer = await app.inject({ method: 'GET', url: '/oci/acme/private', headers: { authorization: 'Bearer x' } })
    expect(bearer.headers['www-authenticate']).toBe('Bearer realm="pkgway"')
    const license = await app.inject({
      method: 'GET',
      url: '/oci/acme/private',
      headers: { authorization: 'License x' },
    })
    expect(license.headers['www-authenticate']).toBe('License realm="pkgway"')
    expect(license.json().errors[0].code).toBe('LICENSE_INVALID')
    const query = await app.inject({ method: 'GET', url: '/oci/acme/private?token=nope' })
    expect(query.headers['www-authenticate']).toBe('Basic realm="pkgway"')
  })

  it('lets an authenticated caller through requireAuth', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/oci/acme/private',
      headers: { authorization: `Basic ${Buffer.from(`token:${acmeToken}`).toString('base64')}` },
    })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ principal: 'staff', challenge: 'Basic realm="pkgway"' })
  })

  it('leaves Basic email:password to routes that opt into password auth', async () => {
    const basic = `Basic ${Buffer.from('jane@example.com:pw').toString('base64')}`
    const login = await app.inject({ method: 'POST', url: '/v1/tokens', headers: { authorization: basic } })
    expect(login.statusCode).toBe(200)
    expect(login.json()).toEqual({
      principal: 'anonymous',
      credentials: {
        kind: 'basic-password',
        username: 'jane@example.com',
        password: 'pw',
        scheme: 'Basic',
        source: 'header',
      },
    })
    // Elsewhere the username is read as a token, and fails.
    const me = await app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: basic } })
    expect(me.statusCode).toBe(401)
    expect(me.json().errors[0].code).toBe('TOKEN_INVALID')
    // A token on the login route still authenticates.
    const token = await app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: { authorization: `Bearer ${adminToken}` },
    })
    expect(token.json().principal).toBe('staff')
  })

  it('answers 401, not 500, to malformed Basic credentials', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: 'Basic ***' } })
    expect(res.statusCode).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Basic realm="keygen"')
  })

  it('falls back to the oldest account when none is called default', async () => {
    const other = await openTestCatalog(kind)
    try {
      const older = await seedAccount(other.db, 'older')
      await seedAccount(other.db, 'newer')
      await setCreated(other, older, '2019-01-01T00:00:00.000Z')
      expect((await new ReadModel(other.db, other.revisions).defaultAccount()).slug).toBe('older')
    } finally {
      await other.close()
    }
  })

  it('answers 404 when the catalog has no account at all', async () => {
    const empty = await openTestCatalog(kind)
    try {
      await expect(new ReadModel(empty.db, empty.revisions).defaultAccount()).rejects.toMatchObject({
        statusCode: 404,
        code: 'NOT_FOUND',
      })
    } finally {
      await empty.close()
    }
  })
})
