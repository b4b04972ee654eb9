import { randomBytes } from 'node:crypto'
import type { Executor } from '../catalog/accounts.ts'
import { isUuid } from '../catalog/accounts.ts'
import type { AccountRow, AuthenticationStrategy, ExpirationStrategy, UserRow } from '../catalog/types.ts'
import { GatewayError } from '../errors.ts'
import { challengeHeader, challengeScheme, type Credentials } from './credentials.ts'
import {
  ANONYMOUS,
  type AuthenticatedPrincipal,
  isStaffRole,
  type LicenseContext,
  type Principal,
} from './principal.ts'
import { hashPassword, verifyPassword } from './passwords.ts'
import { findTokenByRaw } from './tokens.ts'

/**
 * Turns parsed credentials into a {@link Principal} for one account (management-api.md §3, engines.md §1.3).
 * Everything is read from the catalog on each call, so every gateway instance sees revocations at once.
 *
 * Failures, in Keygen's order and with its codes and details:
 * - token: UUID-shaped → 401 TOKEN_FORMAT_INVALID; unknown (or its bearer is gone) → 401 TOKEN_INVALID;
 *   expired → 401 TOKEN_EXPIRED; bearer user banned, or license token whose owner is banned → 403 USER_BANNED;
 *   license token whose policy is not TOKEN/MIXED → 403 TOKEN_NOT_ALLOWED.
 * - license key: unknown → 401 LICENSE_INVALID; owner banned → 403 LICENSE_BANNED; suspended → 403
 *   LICENSE_SUSPENDED; REVOKE_ACCESS and expired → 403 LICENSE_EXPIRED; policy not LICENSE/MIXED → 403
 *   LICENSE_NOT_ALLOWED.
 * - malformed credentials → 401 TOKEN_INVALID or LICENSE_INVALID (never anonymous).
 * Every 401 carries `WWW-Authenticate: <scheme> realm="<realm>"`, the scheme being the one the client used.
 */

export interface ResolveOptions {
  /** Realm of the `WWW-Authenticate` challenge (default `keygen`). */
  realm?: string
  /** Challenge scheme when the client used none that can be echoed (query credentials); default Bearer. */
  challenge?: 'Bearer' | 'Basic'
  /** Clock, in epoch milliseconds (tests). */
  now?: number
}

export const UNAUTHENTICATED_DETAIL = 'You must be authenticated to complete the request'
export const TOKEN_FORMAT_INVALID_DETAIL =
  "Token format is invalid (make sure that you're providing a token value, not a token's UUID identifier)"

/** unauthorized builds a 401 with the challenge header every 401 must carry. */
export function unauthorized(code: string, detail: string, challenge: string): GatewayError {
  return new GatewayError(code, detail, 401, { headers: { 'WWW-Authenticate': challenge } })
}

const accessDenied = (code: string, detail: string) => new GatewayError(code, detail, 403)

/** Whether an ISO 8601 instant lies strictly before `now` (Keygen: `expiry < Time.current`). */
export function isPast(iso: string | null, now: number): boolean {
  if (iso === null) return false
  const t = Date.parse(iso)
  return !Number.isNaN(t) && t < now
}

export async function resolvePrincipal(
  db: Executor,
  account: AccountRow,
  credentials: Credentials,
  options: ResolveOptions = {},
): Promise<Principal> {
  const challenge = challengeHeader(challengeScheme(credentials, options.challenge), options.realm)
  const now = options.now ?? Date.now()
  switch (credentials.kind) {
    case 'none':
      return ANONYMOUS
    case 'malformed':
      throw credentials.expected === 'license-key'
        ? unauthorized('LICENSE_INVALID', `${UNAUTHENTICATED_DETAIL} (${credentials.reason})`, challenge)
        : unauthorized('TOKEN_INVALID', `${UNAUTHENTICATED_DETAIL} (${credentials.reason})`, challenge)
    case 'license-key':
      return resolveLicenseKey(db, account, credentials.key, challenge, now)
    case 'token':
      return resolveToken(db, account, credentials.token, challenge, now)
    case 'basic-password':
      // Keygen's legacy rule: a Basic username other than `license`/`token` is a token, the password is ignored.
      return resolveToken(db, account, credentials.username, challenge, now)
  }
}

async function resolveToken(
  db: Executor,
  account: AccountRow,
  raw: string,
  challenge: string,
  now: number,
): Promise<AuthenticatedPrincipal> {
  if (isUuid(raw)) throw unauthorized('TOKEN_FORMAT_INVALID', TOKEN_FORMAT_INVALID_DETAIL, challenge)
  const token = await findTokenByRaw(db, account, raw)
  if (!token) throw unauthorized('TOKEN_INVALID', UNAUTHENTICATED_DETAIL, challenge)
  if (isPast(token.expiry, now)) throw unauthorized('TOKEN_EXPIRED', 'Token is expired', challenge)

  switch (token.bearer_type) {
    case 'admin':
      if (token.bearer_id === null) return { kind: 'staff', role: 'admin', tokenId: token.id, userId: null }
      return principalForUser(db, account, token.id, token.bearer_id, challenge)
    case 'user':
      if (token.bearer_id === null) throw unauthorized('TOKEN_INVALID', UNAUTHENTICATED_DETAIL, challenge)
      return principalForUser(db, account, token.id, token.bearer_id, challenge)
    case 'product': {
      const product =
        token.bearer_id === null
          ? undefined
          : await db
              .selectFrom('products')
              .select('id')
              .where('account_id', '=', account.id)
              .where('id', '=', token.bearer_id)
              .executeTakeFirst()
      if (!product) throw unauthorized('TOKEN_INVALID', UNAUTHENTICATED_DETAIL, challenge)
      return { kind: 'product', tokenId: token.id, productId: product.id }
    }
    case 'license': {
      const [license] =
        token.bearer_id === null ? [] : await loadLicenseContexts(db, account.id, { licenseId: token.bearer_id })
      if (!license) throw unauthorized('TOKEN_INVALID', UNAUTHENTICATED_DETAIL, challenge)
      // Keygen raises USER_BANNED for any banned bearer, and a license is banned when its owner is.
      if (license.banned) throw accessDenied('USER_BANNED', 'User is banned')
      if (!supportsTokenAuth(license.authenticationStrategy)) {
        throw accessDenied('TOKEN_NOT_ALLOWED', 'Token authentication is not allowed by policy')
      }
      return { kind: 'license', tokenId: token.id, license }
    }
    default:
      throw unauthorized('TOKEN_INVALID', UNAUTHENTICATED_DETAIL, challenge)
  }
}

async function principalForUser(
  db: Executor,
  account: AccountRow,
  tokenId: string,
  userId: string,
  challenge: string,
): Promise<AuthenticatedPrincipal> {
  const user = await db
    .selectFrom('users')
    .select(['id', 'role', 'banned_at'])
    .where('account_id', '=', account.id)
    .where('id', '=', userId)
    .executeTakeFirst()
  if (!user) throw unauthorized('TOKEN_INVALID', UNAUTHENTICATED_DETAIL, challenge)
  return principalOfUser(db, account, user, tokenId)
}

/**
 * principalOfUser gives the principal of an existing user (admin-like roles are staff), e.g. for the login
 * route after a password check. A banned user is 403 USER_BANNED.
 */
export async function principalOfUser(
  db: Executor,
  account: Pick<AccountRow, 'id'>,
  user: Pick<UserRow, 'id' | 'role' | 'banned_at'>,
  tokenId: string,
): Promise<AuthenticatedPrincipal> {
  if (user.banned_at !== null) throw accessDenied('USER_BANNED', 'User is banned')
  if (isStaffRole(user.role)) return { kind: 'staff', role: user.role, tokenId, userId: user.id }
  const licenses = await loadLicenseContexts(db, account.id, { userId: user.id })
  return { kind: 'user', tokenId, userId: user.id, banned: false, licenses }
}

/** A well-formed hash of a random password, verified when no user matches so that timing does not tell. */
let decoyHash: Promise<string> | null = null
const decoy = () => {
  decoyHash ??= hashPassword(randomBytes(16).toString('hex'))
  return decoyHash
}

/**
 * findUserByPassword returns the user with that email (case-insensitive) in the account when the password
 * matches its hash, else null. Users without a password ("managed") never match. It takes about the same time
 * whether or not the email exists. Callers still check bans ({@link principalOfUser}).
 */
export async function findUserByPassword(
  db: Executor,
  account: Pick<AccountRow, 'id'>,
  email: string,
  password: string,
): Promise<UserRow | null> {
  const user = await db
    .selectFrom('users')
    .selectAll()
    .where('account_id', '=', account.id)
    .where('email_key', '=', email.trim().toLowerCase())
    .executeTakeFirst()
  if (!user?.password_hash) {
    await verifyPassword(password, await decoy())
    return null
  }
  return (await verifyPassword(password, user.password_hash)) ? user : null
}

async function resolveLicenseKey(
  db: Executor,
  account: AccountRow,
  key: string,
  challenge: string,
  now: number,
): Promise<AuthenticatedPrincipal> {
  const [license] = await loadLicenseContexts(db, account.id, { key })
  if (!license) throw unauthorized('LICENSE_INVALID', UNAUTHENTICATED_DETAIL, challenge)
  if (license.banned) throw accessDenied('LICENSE_BANNED', 'License is banned')
  if (license.suspended) throw accessDenied('LICENSE_SUSPENDED', 'License is suspended')
  if (revokesAccess(license.expirationStrategy) && isPast(license.expiry, now)) {
    throw accessDenied('LICENSE_EXPIRED', 'License is expired')
  }
  if (!supportsLicenseAuth(license.authenticationStrategy)) {
    throw accessDenied('LICENSE_NOT_ALLOWED', 'License key authentication is not allowed by policy')
  }
  return { kind: 'license', tokenId: null, license }
}

/** Token auth is allowed for TOKEN and MIXED policies (and legacy null). */
export const supportsTokenAuth = (s: AuthenticationStrategy | null): boolean =>
  s === null || s === 'TOKEN' || s === 'MIXED'

/** License-key auth is allowed only for LICENSE and MIXED policies. */
export const supportsLicenseAuth = (s: AuthenticationStrategy | null): boolean => s === 'LICENSE' || s === 'MIXED'

/** REVOKE_ACCESS (and legacy null) cut every access once the license has expired. */
export const revokesAccess = (s: ExpirationStrategy | null): boolean => s === null || s === 'REVOKE_ACCESS'

export type LicenseFilter = { key: string } | { licenseId: string } | { userId: string }

/**
 * loadLicenseContexts reads licenses of one account with what the policy needs: the policy's strategies, the
 * owner's ban, and the union of policy and license entitlements. `userId` gives the licenses the user owns plus
 * those it is a licensee of. Ordered oldest first, so reasons of multi-license denials are deterministic.
 */
export async function loadLicenseContexts(
  db: Executor,
  accountId: string,
  filter: LicenseFilter,
): Promise<LicenseContext[]> {
  let q = db
    .selectFrom('licenses as l')
    .innerJoin('policies as p', 'p.id', 'l.policy_id')
    .leftJoin('users as o', 'o.id', 'l.owner_id')
    .select([
      'l.id',
      'l.product_id',
      'l.policy_id',
      'l.expiry',
      'l.suspended',
      'p.expiration_strategy',
      'p.authentication_strategy',
      'o.banned_at as owner_banned_at',
    ])
    .where('l.account_id', '=', accountId)
  if ('key' in filter) q = q.where('l.key', '=', filter.key)
  else if ('licenseId' in filter) q = q.where('l.id', '=', filter.licenseId)
  else {
    const userId = filter.userId
    q = q.where((eb) =>
      eb.or([
        eb('l.owner_id', '=', userId),
        eb(
          'l.id',
          'in',
          eb
            .selectFrom('license_users as lu')
            .select('lu.license_id')
            .where('lu.account_id', '=', accountId)
            .where('lu.user_id', '=', userId),
        ),
      ]),
    )
  }
  const rows = await q.orderBy('l.created_at').orderBy('l.id').execute()
  if (rows.length === 0) return []

  const licenseIds = rows.map((r) => r.id)
  const policyIds = [...new Set(rows.map((r) => r.policy_id))]
  const [policyEntitlements, licenseEntitlements] = await Promise.all([
    db
      .selectFrom('policy_entitlements')
      .select(['policy_id', 'entitlement_id'])
      .where('account_id', '=', accountId)
      .where('policy_id', 'in', policyIds)
      .execute(),
    db
      .selectFrom('license_entitlements')
      .select(['license_id', 'entitlement_id'])
      .where('account_id', '=', accountId)
      .where('license_id', 'in', licenseIds)
      .execute(),
  ])

  return rows.map((r) => {
    const entitlementIds = new Set<string>()
    for (const e of policyEntitlements) if (e.policy_id === r.policy_id) entitlementIds.add(e.entitlement_id)
    for (const e of licenseEntitlements) if (e.license_id === r.id) entitlementIds.add(e.entitlement_id)
    return {
      id: r.id,
      productId: r.product_id,
      policyId: r.policy_id,
      expiry: r.expiry,
      suspended: Boolean(Number(r.suspended)),
      banned: r.owner_banned_at !== null && r.owner_banned_at !== undefined,
      expirationStrategy: r.expiration_strategy,
      authenticationStrategy: r.authentication_strategy,
      entitlementIds,
    } satisfies LicenseContext
  })
}
