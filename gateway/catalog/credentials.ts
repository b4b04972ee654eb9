import type { LicenseContext } from '../auth/principal.ts'
import type { Executor } from './accounts.ts'
import type { TokenRow, UserRow } from './types.ts'

/**
 * The catalog reads behind credential resolution (gateway/auth/resolve.ts): tokens by digest, token bearers,
 * and licenses with what the policy needs.
 */

/** findTokenByDigest looks a token up by its stored digest. */
export async function findTokenByDigest(
  db: Executor,
  accountId: string,
  digest: string,
): Promise<TokenRow | undefined> {
  return db
    .selectFrom('tokens')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('digest', '=', digest)
    .executeTakeFirst()
}

/** findUserBearer reads what a principal needs of a user. */
export async function findUserBearer(
  db: Executor,
  accountId: string,
  userId: string,
): Promise<Pick<UserRow, 'id' | 'role' | 'banned_at'> | undefined> {
  return db
    .selectFrom('users')
    .select(['id', 'role', 'banned_at'])
    .where('account_id', '=', accountId)
    .where('id', '=', userId)
    .executeTakeFirst()
}

/** findUserByEmail reads a user by email, case-insensitively. */
export async function findUserByEmail(db: Executor, accountId: string, email: string): Promise<UserRow | undefined> {
  return db
    .selectFrom('users')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('email_key', '=', email.trim().toLowerCase())
    .executeTakeFirst()
}

/** productExists tells whether a product of the account has that id. */
export async function productExists(db: Executor, accountId: string, productId: string): Promise<boolean> {
  const row = await db
    .selectFrom('products')
    .select('id')
    .where('account_id', '=', accountId)
    .where('id', '=', productId)
    .executeTakeFirst()
  return row !== undefined
}

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
