import { randomBytes } from 'node:crypto'
import { accountSecret, type Executor, isUuid } from '../catalog/accounts.ts'
import {
  findTokenByDigest,
  findUserBearer,
  findUserByEmail,
  loadLicenseContexts,
  productExists,
} from '../catalog/credentials.ts'
import type { Account, AuthenticationStrategy, ExpirationStrategy, UserRow } from '../catalog/types.ts'
import { GatewayError } from '../errors.ts'
import { challengeHeader, challengeScheme, type Credentials } from './credentials.ts'
import {
  ANONYMOUS,
  type AuthenticatedPrincipal,
  isStaffRole,
  type LicenseContext,
  type Principal,
} from './principal.ts'
import { nextExpiry } from './policy.ts'
import { hashPassword, verifyPassword } from './passwords.ts'
import { digestToken } from './tokens.ts'

/**
 * Turns parsed credentials into a {@link Principal} for one account (management-api.md §3, engines.md §1.3).
 * {@link loadCredentialFacts} reads the catalog; {@link principalFromFacts} applies the rules, at request time.
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

/**
 * What the catalog says about a credential, before any rule is applied: cached per credential (keyed by an HMAC
 * of it) and turned into a principal on every request by {@link principalFromFacts}, so that expiry is always
 * judged at request time. `unknown` means no such token or license key.
 */
export type CredentialFacts =
  | { kind: 'unknown' }
  | { kind: 'license'; license: LicenseContext }
  | {
      kind: 'token'
      tokenId: string
      expiry: string | null
      bearer:
        | { type: 'admin' }
        | { type: 'product'; productId: string }
        | { type: 'license'; license: LicenseContext }
        | { type: 'user'; user: Pick<UserRow, 'id' | 'role' | 'banned_at'>; licenses: LicenseContext[] }
        | { type: 'missing' }
    }

const UNKNOWN: CredentialFacts = { kind: 'unknown' }

/**
 * loadCredentialFacts reads what the catalog knows about a license key or a raw token; `secret` is the account's
 * token digest key. Credentials without a catalog lookup (none, malformed, UUID-shaped tokens) are `unknown`.
 */
export async function loadCredentialFacts(
  db: Executor,
  accountId: string,
  secret: string,
  credentials: Credentials,
): Promise<CredentialFacts> {
  if (credentials.kind === 'license-key') {
    const [license] = await loadLicenseContexts(db, accountId, { key: credentials.key })
    return license ? { kind: 'license', license } : UNKNOWN
  }
  const raw = rawToken(credentials)
  if (raw === null || isUuid(raw)) return UNKNOWN
  const token = await findTokenByDigest(db, accountId, digestToken(secret, raw))
  if (!token) return UNKNOWN
  const facts = { kind: 'token' as const, tokenId: token.id, expiry: token.expiry }
  const id = token.bearer_id
  if (id === null) return { ...facts, bearer: token.bearer_type === 'admin' ? { type: 'admin' } : { type: 'missing' } }
  switch (token.bearer_type) {
    case 'admin':
    case 'user': {
      const user = await findUserBearer(db, accountId, id)
      if (!user) return { ...facts, bearer: { type: 'missing' } }
      const licenses = isStaffRole(user.role) ? [] : await loadLicenseContexts(db, accountId, { userId: user.id })
      return { ...facts, bearer: { type: 'user', user, licenses } }
    }
    case 'product':
      return {
        ...facts,
        bearer: (await productExists(db, accountId, id)) ? { type: 'product', productId: id } : { type: 'missing' },
      }
    case 'license': {
      const [license] = await loadLicenseContexts(db, accountId, { licenseId: id })
      return { ...facts, bearer: license ? { type: 'license', license } : { type: 'missing' } }
    }
    default:
      return { ...facts, bearer: { type: 'missing' } }
  }
}

/**
 * factsChangeAt is the first instant (epoch ms) after `now` at which judging the same facts may give another
 * answer: a token or a license expires (access, or the releases a license sees, change then). Infinity when no
 * expiry lies ahead.
 */
export function factsChangeAt(facts: CredentialFacts, now: number): number {
  if (facts.kind === 'license') return nextExpiry([facts.license.expiry], now)
  if (facts.kind === 'unknown') return Number.POSITIVE_INFINITY
  const { bearer } = facts
  const licenses = bearer.type === 'license' ? [bearer.license] : bearer.type === 'user' ? bearer.licenses : []
  return nextExpiry([facts.expiry, ...licenses.map((l) => l.expiry)], now)
}

/** rawToken is the token a credential presents (Basic `<token>:` counts: Keygen's legacy rule), or null. */
function rawToken(credentials: Credentials): string | null {
  if (credentials.kind === 'token') return credentials.token
  if (credentials.kind === 'basic-password') return credentials.username
  return null
}

/**
 * principalFromFacts applies Keygen's rules (see the top of this file) to what the catalog said about the
 * credentials, at `now`. Pure: the same facts give the same answer until a token or license expires.
 */
export function principalFromFacts(
  credentials: Credentials,
  facts: CredentialFacts,
  options: ResolveOptions = {},
): Principal {
  // Built only for a 401: a valid credential never pays for its challenge.
  const challenge = () => challengeHeader(challengeScheme(credentials, options.challenge), options.realm)
  const now = options.now ?? Date.now()
  switch (credentials.kind) {
    case 'none':
      return ANONYMOUS
    case 'malformed':
      throw credentials.expected === 'license-key'
        ? unauthorized('LICENSE_INVALID', `${UNAUTHENTICATED_DETAIL} (${credentials.reason})`, challenge())
        : unauthorized('TOKEN_INVALID', `${UNAUTHENTICATED_DETAIL} (${credentials.reason})`, challenge())
    case 'license-key':
      if (facts.kind !== 'license') throw unauthorized('LICENSE_INVALID', UNAUTHENTICATED_DETAIL, challenge())
      return licenseKeyPrincipal(facts.license, now)
    case 'token':
    case 'basic-password': {
      if (isUuid(rawToken(credentials) ?? '')) {
        throw unauthorized('TOKEN_FORMAT_INVALID', TOKEN_FORMAT_INVALID_DETAIL, challenge())
      }
      if (facts.kind !== 'token') throw unauthorized('TOKEN_INVALID', UNAUTHENTICATED_DETAIL, challenge())
      if (isPast(facts.expiry, now)) throw unauthorized('TOKEN_EXPIRED', 'Token is expired', challenge())
      return tokenPrincipal(facts, challenge)
    }
  }
}

function tokenPrincipal(
  facts: Extract<CredentialFacts, { kind: 'token' }>,
  challenge: () => string,
): AuthenticatedPrincipal {
  const { bearer, tokenId } = facts
  switch (bearer.type) {
    case 'admin':
      return { kind: 'staff', role: 'admin', tokenId, userId: null }
    case 'product':
      return { kind: 'product', tokenId, productId: bearer.productId }
    case 'user':
      return userPrincipal(bearer.user, bearer.licenses, tokenId)
    case 'license':
      // Keygen raises USER_BANNED for any banned bearer, and a license is banned when its owner is.
      if (bearer.license.banned) throw accessDenied('USER_BANNED', 'User is banned')
      if (!supportsTokenAuth(bearer.license.authenticationStrategy)) {
        throw accessDenied('TOKEN_NOT_ALLOWED', 'Token authentication is not allowed by policy')
      }
      return { kind: 'license', tokenId, license: bearer.license }
    case 'missing':
      throw unauthorized('TOKEN_INVALID', UNAUTHENTICATED_DETAIL, challenge())
  }
}

function userPrincipal(
  user: Pick<UserRow, 'id' | 'role' | 'banned_at'>,
  licenses: LicenseContext[],
  tokenId: string,
): AuthenticatedPrincipal {
  if (user.banned_at !== null) throw accessDenied('USER_BANNED', 'User is banned')
  if (isStaffRole(user.role)) return { kind: 'staff', role: user.role, tokenId, userId: user.id }
  return { kind: 'user', tokenId, userId: user.id, banned: false, licenses }
}

function licenseKeyPrincipal(license: LicenseContext, now: number): AuthenticatedPrincipal {
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

/** resolvePrincipal reads and judges credentials without any cache (the read model caches the facts). */
export async function resolvePrincipal(
  db: Executor,
  account: Pick<Account, 'id'>,
  credentials: Credentials,
  options: ResolveOptions = {},
): Promise<Principal> {
  const secret = (await accountSecret(db, account.id)) ?? ''
  return principalFromFacts(credentials, await loadCredentialFacts(db, account.id, secret, credentials), options)
}

/**
 * principalOfUser gives the principal of an existing user (admin-like roles are staff), e.g. for the login
 * route after a password check. A banned user is 403 USER_BANNED.
 */
export async function principalOfUser(
  db: Executor,
  account: Pick<Account, 'id'>,
  user: Pick<UserRow, 'id' | 'role' | 'banned_at'>,
  tokenId: string,
): Promise<AuthenticatedPrincipal> {
  if (user.banned_at !== null) throw accessDenied('USER_BANNED', 'User is banned')
  const licenses = isStaffRole(user.role) ? [] : await loadLicenseContexts(db, account.id, { userId: user.id })
  return userPrincipal(user, licenses, tokenId)
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
  account: Pick<Account, 'id'>,
  email: string,
  password: string,
): Promise<UserRow | null> {
  const user = await findUserByEmail(db, account.id, email)
  if (!user?.password_hash) {
    await verifyPassword(password, await decoy())
    return null
  }
  return (await verifyPassword(password, user.password_hash)) ? user : null
}

/** Token auth is allowed for TOKEN and MIXED policies (and legacy null). */
export const supportsTokenAuth = (s: AuthenticationStrategy | null): boolean =>
  s === null || s === 'TOKEN' || s === 'MIXED'

/** License-key auth is allowed only for LICENSE and MIXED policies. */
export const supportsLicenseAuth = (s: AuthenticationStrategy | null): boolean => s === 'LICENSE' || s === 'MIXED'

/** REVOKE_ACCESS (and legacy null) cut every access once the license has expired. */
export const revokesAccess = (s: ExpirationStrategy | null): boolean => s === null || s === 'REVOKE_ACCESS'
