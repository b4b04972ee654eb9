import type { FastifyRequest } from 'fastify'
import { connectionMemo } from '../../auth/connection-memo.ts'
import { connectionCredentials } from '../../auth/plugin.ts'
import type { Principal } from '../../auth/principal.ts'
import type { Account } from '../../catalog/types.ts'
import { findPackage } from '../../read-model/lookup.ts'
import type { ReadModel } from '../../read-model/read-model.ts'
import { judgedCredential } from '../../replay.ts'
import { authenticationRequired } from './errors.ts'
import { type RegistryTokens, TOKEN_PREFIX, unsealCredential } from './token.ts'

/**
 * Who calls the registry, for which account. The repository name names the account: `<package>` is a package of
 * the default account, `<account>/<package>` one of any account (slug or UUID). A package key of the default
 * account that contains `/` wins over the `<account>/<package>` reading of the same name.
 */

/** Realm of credential errors before the registry's own challenge replaces it. */
export const REGISTRY_REALM = 'pkgway'

export interface Repository {
  account: Account
  /** Package key (or UUID) within the account. */
  key: string
}

/** resolveRepository finds the account and package key a repository name means (the package may not exist). */
export async function resolveRepository(model: ReadModel, name: string): Promise<Repository> {
  const fallback = await model.defaultAccount()
  const slash = name.indexOf('/')
  if (slash === -1) return { account: fallback, key: name }
  const snap = await model.snapshot(fallback.id)
  if (findPackage(snap, name)) return { account: fallback, key: name }
  const account = await model.account(name.slice(0, slash))
  return account ? { account, key: name.slice(slash + 1) } : { account: fallback, key: name }
}

const BEARER_REGISTRY_TOKEN = /^\s*bearer\s+/i

/** registryTokenOf returns the registry token of the request's `Authorization: Bearer`, if it carries one. */
function registryTokenOf(request: FastifyRequest): string | null {
  const header = request.headers.authorization
  if (typeof header !== 'string' || !BEARER_REGISTRY_TOKEN.test(header)) return null
  const value = header.replace(BEARER_REGISTRY_TOKEN, '').trim()
  return value.startsWith(TOKEN_PREFIX) ? value : null
}

/**
 * registryPrincipal authenticates a registry request for `account`: a registry token (which must be this
 * account's and, for a repository request, grant `name`), or any credential the gateway takes (Basic
 * `license:KEY`, `token:TOKEN`, Bearer API tokens). Invalid credentials are a 401, never anonymous.
 */
export async function registryPrincipal(
  request: FastifyRequest,
  deps: { readModel: ReadModel; tokens: RegistryTokens },
  account: Account,
  name: string | null,
): Promise<Principal> {
  const token = registryTokenOf(request)
  if (token === null) {
    const { credentials, key } = connectionCredentials(deps.readModel, request, account)
    return deps.readModel.principal(account, credentials, { realm: REGISTRY_REALM, challenge: 'Bearer' }, key)
  }
  const check = deps.tokens.open(token)
  if (!check.ok) throw authenticationRequired(check.reason === 'expired' ? 'token expired' : 'invalid token')
  const { claims } = check
  if (claims.accountId !== account.id || (name !== null && !claims.repositories.includes(name))) {
    throw authenticationRequired('insufficient scope: the token does not grant pull on this repository')
  }
  // The token is opened and its scope checked on every request; only what its credential derives to is remembered.
  const { credentials, key } = connectionMemo(request, 'registry-credential', account.id, () => {
    const sealed = unsealCredential(claims.credential)
    return { credentials: sealed, key: deps.readModel.credentialKey(account.id, sealed) }
  })
  judgedCredential(request, key, claims.expiresAt * 1000)
  return deps.readModel.principal(account, credentials, { realm: REGISTRY_REALM }, key)
}

/** accountOfToken is the account a registry token of the request was issued for, if any (for `/v2/`). */
export function accountOfToken(request: FastifyRequest, tokens: RegistryTokens): string | null {
  const token = registryTokenOf(request)
  if (token === null) return null
  const check = tokens.open(token)
  return check.ok ? check.claims.accountId : null
}
