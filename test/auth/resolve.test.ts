import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Credentials, parseCredentials } from '../../gateway/auth/credentials.ts'
import type { LicenseContext, Principal } from '../../gateway/auth/principal.ts'
import {
  findUserByPassword,
  principalOfUser,
  type ResolveOptions,
  resolvePrincipal,
} from '../../gateway/auth/resolve.ts'
import type { Catalog } from '../../gateway/catalog/db.ts'
import type { AccountRow, AuthenticationStrategy, ExpirationStrategy, UserRole } from '../../gateway/catalog/types.ts'
import { GatewayError } from '../../gateway/errors.ts'
import { catalogKinds, openTestCatalog } from '../helpers/catalog.ts'
import {
  ago,
  fromNow,
  seedAccount,
  seedEntitlement,
  seedLicense,
  seedLicenseUser,
  seedPolicy,
  seedProduct,
  seedToken,
  seedUser,
} from '../helpers/seed.ts'

const b64 = (s: string) => Buffer.from(s).toString('base64')
const bearer = (token: string): Credentials => parseCredentials({ authorization: `Bearer ${token}` })
const licenseHeader = (key: string): Credentials => parseCredentials({ authorization: `License ${key}` })

interface Failure {
  status: number
  code: string
  title: string
  detail?: string | RegExp
  /** Expected WWW-Authenticate, or null when none must be present. */
  challenge: string | null
}

async function failure(promise: Promise<Principal>): Promise<GatewayError> {
  try {
    await promise
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError)
    return err as GatewayError
  }
  throw new Error('expected the credentials to be rejected')
}

function expectFailure(err: GatewayError, f: Failure): void {
  expect({ status: err.statusCode, code: err.code, title: err.title }).toEqual({
    status: f.status,
    code: f.code,
    title: f.title,
  })
  if (f.detail !== undefined) expect(err.message).toMatch(f.detail)
  expect(err.options.headers?.['WWW-Authenticate'] ?? null).toBe(f.challenge)
}

describe.each(catalogKinds)('resolvePrincipal on %s', (kind) => {
  let catalog: Catalog
  let account: AccountRow
  let other: AccountRow

  const resolve = (c: Credentials, o?: ResolveOptions) => resolvePrincipal(catalog.db, account, c, o)

  beforeAll(async () => {
    catalog = await openTestCatalog(kind)
    account = await seedAccount(catalog.db)
    other = await seedAccount(catalog.db)
  })
  afterAll(async () => {
    await catalog.close()
  })

  async function licenseWith(opts: {
    auth?: AuthenticationStrategy
    exp?: ExpirationStrategy
    expiry?: string | null
    suspended?: boolean
    ownerBanned?: boolean
    in?: AccountRow
  }) {
    const acct = opts.in ?? account
    const product = await seedProduct(catalog.db, acct)
    const policy = await seedPolicy(catalog.db, acct, {
      product,
      authenticationStrategy: opts.auth ?? 'MIXED',
      expirationStrategy: opts.exp ?? 'RESTRICT_ACCESS',
    })
    const owner = opts.ownerBanned ? await seedUser(catalog.db, acct, { banned: true }) : null
    return seedLicense(catalog.db, acct, {
      policy,
      expiry: opts.expiry ?? null,
      suspended: opts.suspended,
      owner,
    })
  }

  describe('with tokens', () => {
    it('resolves an account-wide admin token to an admin staff principal', async () => {
      const { row, raw } = await seedToken(catalog.db, account, { bearerType: 'admin' })
      expect(await resolve(bearer(raw))).toEqual({ kind: 'staff', role: 'admin', tokenId: row.id, userId: null })
    })

    it.each<UserRole>(['admin', 'developer', 'sales-agent', 'support-agent', 'read-only'])(
      'resolves a token of a %s user to a staff principal with that role',
      async (role) => {
        const user = await seedUser(catalog.db, account, { role })
        const { row, raw } = await seedToken(catalog.db, account, { bearerType: 'user', bearer: user })
        expect(await resolve(bearer(raw))).toEqual({ kind: 'staff', role, tokenId: row.id, userId: user.id })
      },
    )

    it('resolves an admin token bound to an admin user to staff with that user', async () => {
      const user = await seedUser(catalog.db, account, { role: 'admin' })
      const { row, raw } = await seedToken(catalog.db, account, { bearerType: 'admin', bearer: user })
      expect(await resolve(bearer(raw))).toEqual({ kind: 'staff', role: 'admin', tokenId: row.id, userId: user.id })
    })

    it('resolves a product token to its product', async () => {
      const product = await seedProduct(catalog.db, account)
      const { row, raw } = await seedToken(catalog.db, account, { bearerType: 'product', bearer: product })
      expect(await resolve(bearer(raw))).toEqual({ kind: 'product', tokenId: row.id, productId: product.id })
    })

    it('resolves a user token to a user principal with owned and licensee licenses, oldest first', async () => {
      const user = await seedUser(catalog.db, account)
      const product = await seedProduct(catalog.db, account)
      const e1 = await seedEntitlement(catalog.db, account)
      const e2 = await seedEntitlement(catalog.db, account)
      const policy = await seedPolicy(catalog.db, account, { product, entitlements: [e1] })
      const owned = await seedLicense(catalog.db, account, {
        policy,
        owner: user,
        entitlements: [e2],
        createdAt: '2024-01-01T00:00:00.000Z',
      })
      const shared = await seedLicense(catalog.db, account, { policy, createdAt: '2024-02-01T00:00:00.000Z' })
      await seedLicenseUser(catalog.db, account, shared, user)
      await seedLicense(catalog.db, account, { policy }) // someone else's
      const { row, raw } = await seedToken(catalog.db, account, { bearerType: 'user', bearer: user })
      const p = await resolve(bearer(raw))
      expect(p.kind).toBe('user')
      if (p.kind !== 'user') return
      expect({ tokenId: p.tokenId, userId: p.userId, banned: p.banned }).toEqual({
        tokenId: row.id,
        userId: user.id,
        banned: false,
      })
      expect(p.licenses.map((l) => l.id)).toEqual([owned.id, shared.id])
      expect([...p.licenses[0].entitlementIds].sort()).toEqual([e1.id, e2.id].sort())
      expect([...p.licenses[1].entitlementIds]).toEqual([e1.id])
    })

    it('resolves a license token to a license principal for TOKEN and MIXED policies', async () => {
      for (const auth of ['TOKEN', 'MIXED'] as const) {
        const license = await licenseWith({ auth })
        const { row, raw } = await seedToken(catalog.db, account, { bearerType: 'license', bearer: license })
        const p = await resolve(bearer(raw))
        expect(p).toMatchObject({ kind: 'license', tokenId: row.id, license: { id: license.id } })
      }
    })

    it('lets a suspended license authenticate with a token (the release rules deny it later)', async () => {
      const license = await licenseWith({ auth: 'TOKEN', suspended: true })
      const { raw } = await seedToken(catalog.db, account, { bearerType: 'license', bearer: license })
      const p = await resolve(bearer(raw))
      expect(p).toMatchObject({ kind: 'license', license: { suspended: true } })
    })

    it('lets a REVOKE_ACCESS license that expired authenticate with a token (its scope is empty instead)', async () => {
      const license = await licenseWith({ auth: 'TOKEN', exp: 'REVOKE_ACCESS', expiry: ago({ days: 1 }) })
      const { raw } = await seedToken(catalog.db, account, { bearerType: 'license', bearer: license })
      expect((await resolve(bearer(raw))).kind).toBe('license')
    })

    it('reads the username of Basic <token>: as the token', async () => {
      const { raw } = await seedToken(catalog.db, account, { bearerType: 'admin' })
      const p = await resolve(parseCredentials({ authorization: `Basic ${b64(`${raw}:whatever`)}` }))
      expect(p.kind).toBe('staff')
    })

    it('reads ?token= and ?auth=token: the same way', async () => {
      const { raw } = await seedToken(catalog.db, account, { bearerType: 'admin' })
      expect((await resolve(parseCredentials({ query: { token: raw } }))).kind).toBe('staff')
      expect((await resolve(parseCredentials({ query: { auth: `token:${raw}` } }))).kind).toBe('staff')
    })

    it('honours a token expiry in the future', async () => {
      const { raw } = await seedToken(catalog.db, account, { bearerType: 'admin', expiry: fromNow({ days: 1 }) })
      expect((await resolve(bearer(raw))).kind).toBe('staff')
    })
  })

  describe('with license keys', () => {
    it('resolves a key of a LICENSE or MIXED policy to a license principal without a token', async () => {
      for (const auth of ['LICENSE', 'MIXED'] as const) {
        const license = await licenseWith({ auth })
        const p = await resolve(licenseHeader(license.key))
        expect(p).toMatchObject({ kind: 'license', tokenId: null, license: { id: license.id } })
      }
    })

    it('reads Basic license:<key> and ?auth=license:<key> alike', async () => {
      const license = await licenseWith({ auth: 'LICENSE' })
      const basic = parseCredentials({ authorization: `Basic ${b64(`license:${license.key}`)}` })
      expect((await resolve(basic)).kind).toBe('license')
      expect((await resolve(parseCredentials({ query: { auth: `license:${license.key}` } }))).kind).toBe('license')
    })

    it('lets an expired license authenticate by key unless its policy revokes access', async () => {
      for (const exp of ['RESTRICT_ACCESS', 'MAINTAIN_ACCESS', 'ALLOW_ACCESS'] as const) {
        const license = await licenseWith({ exp, expiry: ago({ days: 1 }) })
        expect((await resolve(licenseHeader(license.key))).kind).toBe('license')
      }
    })

    it('builds the license context from the policy, the owner and both entitlement sets', async () => {
      const product = await seedProduct(catalog.db, account)
      const e1 = await seedEntitlement(catalog.db, account)
      const e2 = await seedEntitlement(catalog.db, account)
      const e3 = await seedEntitlement(catalog.db, account)
      const policy = await seedPolicy(catalog.db, account, {
        product,
        authenticationStrategy: 'LICENSE',
        expirationStrategy: 'MAINTAIN_ACCESS',
        entitlements: [e1, e2],
      })
      const expiry = fromNow({ days: 10 })
      const license = await seedLicense(catalog.db, account, { policy, expiry, entitlements: [e2, e3] })
      const p = await resolve(licenseHeader(license.key))
      expect(p.kind).toBe('license')
      if (p.kind !== 'license') return
      const { entitlementIds, ...rest } = p.license
      expect(rest).toEqual({
        id: license.id,
        productId: product.id,
        policyId: policy.id,
        expiry,
        suspended: false,
        banned: false,
        expirationStrategy: 'MAINTAIN_ACCESS',
        authenticationStrategy: 'LICENSE',
      } satisfies Omit<LicenseContext, 'entitlementIds'>)
      expect([...entitlementIds].sort()).toEqual([e1.id, e2.id, e3.id].sort())
    })
  })

  describe('with passwords', () => {
    it('finds a user by case-insensitive email and matching password only', async () => {
      const user = await seedUser(catalog.db, account, { email: 'Pat@Example.com', password: 'hunter22' })
      expect((await findUserByPassword(catalog.db, account, 'pat@example.com', 'hunter22'))?.id).toBe(user.id)
      expect(await findUserByPassword(catalog.db, account, 'pat@example.com', 'hunter23')).toBeNull()
      expect(await findUserByPassword(catalog.db, other, 'pat@example.com', 'hunter22')).toBeNull()
      expect(await findUserByPassword(catalog.db, account, 'nobody@example.com', 'hunter22')).toBeNull()
    })

    it('never matches a managed user without a password', async () => {
      await seedUser(catalog.db, account, { email: 'managed@example.com' })
      expect(await findUserByPassword(catalog.db, account, 'managed@example.com', '')).toBeNull()
    })

    it('turns a logged-in user into its principal, refusing banned users', async () => {
      const dev = await seedUser(catalog.db, account, { role: 'developer' })
      expect(await principalOfUser(catalog.db, account, dev, 'tok')).toEqual({
        kind: 'staff',
        role: 'developer',
        tokenId: 'tok',
        userId: dev.id,
      })
      const banned = await seedUser(catalog.db, account, { banned: true })
      await expect(principalOfUser(catalog.db, account, banned, 'tok')).rejects.toMatchObject({
        statusCode: 403,
        code: 'USER_BANNED',
      })
    })
  })

  describe('failures', () => {
    const unauthorizedDetail = /^You must be authenticated to complete the request/

    it('answers 401 TOKEN_FORMAT_INVALID for a UUID sent as a token', async () => {
      expectFailure(await failure(resolve(bearer(randomUUID()))), {
        status: 401,
        code: 'TOKEN_FORMAT_INVALID',
        title: 'Unauthorized',
        detail: /not a token's UUID identifier/,
        challenge: 'Bearer realm="keygen"',
      })
    })

    it('answers 401 TOKEN_INVALID for an unknown token', async () => {
      expectFailure(await failure(resolve(bearer(`admin-${'00'.repeat(32)}v3`))), {
        status: 401,
        code: 'TOKEN_INVALID',
        title: 'Unauthorized',
        detail: unauthorizedDetail,
        challenge: 'Bearer realm="keygen"',
      })
    })

    it('answers 401 TOKEN_INVALID for a license key sent as Bearer', async () => {
      const license = await licenseWith({ auth: 'MIXED' })
      expectFailure(await failure(resolve(bearer(license.key))), {
        status: 401,
        code: 'TOKEN_INVALID',
        title: 'Unauthorized',
        challenge: 'Bearer realm="keygen"',
      })
    })

    it('answers 401 TOKEN_INVALID for a token of another account', async () => {
      const { raw } = await seedToken(catalog.db, other, { bearerType: 'admin' })
      expectFailure(await failure(resolve(bearer(raw))), {
        status: 401,
        code: 'TOKEN_INVALID',
        title: 'Unauthorized',
        challenge: 'Bearer realm="keygen"',
      })
    })

    it('answers 401 TOKEN_INVALID for a token whose bearer no longer exists', async () => {
      const { raw } = await seedToken(catalog.db, account, { bearerType: 'product', bearer: { id: randomUUID() } })
      expectFailure(await failure(resolve(bearer(raw))), {
        status: 401,
        code: 'TOKEN_INVALID',
        title: 'Unauthorized',
        challenge: 'Bearer realm="keygen"',
      })
    })

    it('answers 401 TOKEN_EXPIRED for an expired token', async () => {
      const { raw } = await seedToken(catalog.db, account, { bearerType: 'admin', expiry: ago({ hours: 1 }) })
      expectFailure(await failure(resolve(bearer(raw))), {
        status: 401,
        code: 'TOKEN_EXPIRED',
        title: 'Unauthorized',
        detail: 'Token is expired',
        challenge: 'Bearer realm="keygen"',
      })
    })

    it('answers 403 USER_BANNED for a token of a banned user', async () => {
      const user = await seedUser(catalog.db, account, { banned: true })
      const { raw } = await seedToken(catalog.db, account, { bearerType: 'user', bearer: user })
      expectFailure(await failure(resolve(bearer(raw))), {
        status: 403,
        code: 'USER_BANNED',
        title: 'Access denied',
        detail: 'User is banned',
        challenge: null,
      })
    })

    it('answers 403 USER_BANNED for a token of a banned admin user', async () => {
      const user = await seedUser(catalog.db, account, { role: 'admin', banned: true })
      const { raw } = await seedToken(catalog.db, account, { bearerType: 'admin', bearer: user })
      expectFailure(await failure(resolve(bearer(raw))), {
        status: 403,
        code: 'USER_BANNED',
        title: 'Access denied',
        challenge: null,
      })
    })

    it('answers 403 USER_BANNED for a license token whose owner is banned (Keygen checks any banned bearer)', async () => {
      const license = await licenseWith({ auth: 'TOKEN', ownerBanned: true })
      const { raw } = await seedToken(catalog.db, account, { bearerType: 'license', bearer: license })
      expectFailure(await failure(resolve(bearer(raw))), {
        status: 403,
        code: 'USER_BANNED',
        title: 'Access denied',
        challenge: null,
      })
    })

    it.each<AuthenticationStrategy>(['LICENSE', 'NONE', 'SESSION'])(
      'answers 403 TOKEN_NOT_ALLOWED for a license token of a %s policy',
      async (auth) => {
        const license = await licenseWith({ auth })
        const { raw } = await seedToken(catalog.db, account, { bearerType: 'license', bearer: license })
        expectFailure(await failure(resolve(bearer(raw))), {
          status: 403,
          code: 'TOKEN_NOT_ALLOWED',
          title: 'Access denied',
          detail: 'Token authentication is not allowed by policy',
          challenge: null,
        })
      },
    )

    it('answers 401 LICENSE_INVALID for an unknown key', async () => {
      expectFailure(await failure(resolve(licenseHeader('NOPE-NOPE-NOPE'))), {
        status: 401,
        code: 'LICENSE_INVALID',
        title: 'Unauthorized',
        detail: unauthorizedDetail,
        challenge: 'License realm="keygen"',
      })
    })

    it('answers 401 LICENSE_INVALID for a key in another case (keys are case-sensitive)', async () => {
      const license = await licenseWith({ auth: 'LICENSE' })
      expectFailure(await failure(resolve(licenseHeader(license.key.toLowerCase()))), {
        status: 401,
        code: 'LICENSE_INVALID',
        title: 'Unauthorized',
        challenge: 'License realm="keygen"',
      })
    })

    it('answers 401 LICENSE_INVALID for a key of another account', async () => {
      const license = await licenseWith({ auth: 'LICENSE', in: other })
      expectFailure(await failure(resolve(licenseHeader(license.key))), {
        status: 401,
        code: 'LICENSE_INVALID',
        title: 'Unauthorized',
        challenge: 'License realm="keygen"',
      })
    })

    it('answers 403 LICENSE_BANNED before LICENSE_SUSPENDED for a key whose owner is banned', async () => {
      const license = await licenseWith({ auth: 'LICENSE', ownerBanned: true, suspended: true })
      expectFailure(await failure(resolve(licenseHeader(license.key))), {
        status: 403,
        code: 'LICENSE_BANNED',
        title: 'Access denied',
        detail: 'License is banned',
        challenge: null,
      })
    })

    it('answers 403 LICENSE_SUSPENDED before LICENSE_EXPIRED for a suspended key', async () => {
      const license = await licenseWith({
        auth: 'LICENSE',
        suspended: true,
        exp: 'REVOKE_ACCESS',
        expiry: ago({ days: 1 }),
      })
      expectFailure(await failure(resolve(licenseHeader(license.key))), {
        status: 403,
        code: 'LICENSE_SUSPENDED',
        title: 'Access denied',
        detail: 'License is suspended',
        challenge: null,
      })
    })

    it('answers 403 LICENSE_EXPIRED before LICENSE_NOT_ALLOWED for an expired REVOKE_ACCESS key', async () => {
      const license = await licenseWith({ auth: 'TOKEN', exp: 'REVOKE_ACCESS', expiry: ago({ days: 1 }) })
      expectFailure(await failure(resolve(licenseHeader(license.key))), {
        status: 403,
        code: 'LICENSE_EXPIRED',
        title: 'Access denied',
        detail: 'License is expired',
        challenge: null,
      })
    })

    it.each<AuthenticationStrategy>(['TOKEN', 'NONE', 'SESSION'])(
      'answers 403 LICENSE_NOT_ALLOWED for a key of a %s policy',
      async (auth) => {
        const license = await licenseWith({ auth })
        expectFailure(await failure(resolve(licenseHeader(license.key))), {
          status: 403,
          code: 'LICENSE_NOT_ALLOWED',
          title: 'Access denied',
          detail: 'License key authentication is not allowed by policy',
          challenge: null,
        })
      },
    )

    it('answers 401 TOKEN_INVALID for malformed token credentials, with the reason', async () => {
      expectFailure(await failure(resolve(parseCredentials({ authorization: 'Basic %%%' }))), {
        status: 401,
        code: 'TOKEN_INVALID',
        title: 'Unauthorized',
        detail: /^You must be authenticated to complete the request \(.*base64.*\)$/,
        challenge: 'Basic realm="keygen"',
      })
    })

    it('answers 401 LICENSE_INVALID for malformed license credentials', async () => {
      expectFailure(await failure(resolve(parseCredentials({ authorization: 'License' }))), {
        status: 401,
        code: 'LICENSE_INVALID',
        title: 'Unauthorized',
        challenge: 'License realm="keygen"',
      })
    })

    it('challenges with the scheme the client used, the configured default for query credentials, and the realm', async () => {
      const unknown = `admin-${'11'.repeat(32)}v3`
      const cases: Array<[Credentials, ResolveOptions, string]> = [
        [parseCredentials({ authorization: `Token ${unknown}` }), {}, 'Bearer realm="keygen"'],
        [parseCredentials({ authorization: `Basic ${b64(`token:${unknown}`)}` }), {}, 'Basic realm="keygen"'],
        [parseCredentials({ authorization: `Basic ${b64('license:NOPE')}` }), {}, 'Basic realm="keygen"'],
        [parseCredentials({ query: { token: unknown } }), {}, 'Bearer realm="keygen"'],
        [parseCredentials({ query: { auth: 'license:NOPE' } }), { challenge: 'Basic' }, 'Basic realm="keygen"'],
        [bearer(unknown), { realm: 'pkgway' }, 'Bearer realm="pkgway"'],
        [parseCredentials({ query: { token: '' } }), { challenge: 'Basic', realm: 'x' }, 'Basic realm="x"'],
      ]
      for (const [credentials, options, challenge] of cases) {
        const err = await failure(resolve(credentials, options))
        expect(err.statusCode).toBe(401)
        expect(err.options.headers).toEqual({ 'WWW-Authenticate': challenge })
      }
    })

    it('resolves no credentials to the anonymous principal', async () => {
      expect(await resolve(parseCredentials({}))).toEqual({ kind: 'anonymous' })
    })
  })
})
