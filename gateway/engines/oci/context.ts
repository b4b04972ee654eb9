import type { FastifyRequest } from 'fastify'
import { canShowPackage } from '../../auth/policy.ts'
import type { Principal } from '../../auth/principal.ts'
import type { Account, PackageRow } from '../../catalog/types.ts'
import type { AccountSnapshot } from '../../read-model/account-snapshot.ts'
import { findPackage } from '../../read-model/lookup.ts'
import type { ReadModel } from '../../read-model/read-model.ts'
import { registryPrincipal, resolveRepository } from './auth.ts'
import { nameInvalid, nameUnknown } from './errors.ts'
import { isRepositoryName } from '../../../formats/oci/digest.ts'
import { type OciRepository, ociRepository } from './repository.ts'
import { denial } from './select.ts'
import type { RegistryTokens } from './token.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** The repository a registry request names, for the `scope` of its 401 challenge. */
    ociRepository: string | null
  }
}

/** What every repository route knows once the caller may see the repository. */
export interface RepositoryContext {
  name: string
  account: Account
  principal: Principal
  snap: AccountSnapshot
  pkg: PackageRow
  now: number
  /** The package's images (read once per snapshot). */
  repository(): Promise<OciRepository>
}

export interface RegistryDeps {
  readModel: ReadModel
  tokens: RegistryTokens
}

/**
 * openRepository authenticates a request for a repository and applies the package's show rule (engines.md §2.5
 * steps 2–3): an invalid name is 400 NAME_INVALID, a repository that is no oci package of the account 404
 * NAME_UNKNOWN, one the caller may not see 401 (anonymous, with the challenge) or 403 DENIED.
 */
export async function openRepository(
  request: FastifyRequest,
  deps: RegistryDeps,
  name: string,
): Promise<RepositoryContext> {
  if (!isRepositoryName(name)) throw nameInvalid(name)
  request.ociRepository = name
  const { account, key } = await resolveRepository(deps.readModel, name)
  const principal = await registryPrincipal(request, deps, account, name)
  const snap = await deps.readModel.snapshot(account.id)
  const pkg = findPackage(snap, key)
  if (pkg?.engine !== 'oci') throw nameUnknown(name)
  const strategy = snap.productsById.get(pkg.product_id)?.distribution_strategy ?? 'CLOSED'
  if (!canShowPackage(principal, { productId: pkg.product_id, strategy }).allow) throw denial(principal)
  return {
    name,
    account,
    principal,
    snap,
    pkg,
    now: Date.now(),
    repository: () => ociRepository(deps.readModel, snap, pkg),
  }
}
