import { type Executor, isUuid } from './accounts.ts'
import type { EntitlementRow, PackageRow, ProductRow, ReleaseRow } from './types.ts'

/**
 * Alias lookups straight from the catalog, for writes (uniqueness checks and relationships named in a request
 * body), which must see other instances' latest commits. Reads go through the read model instead.
 */

/** productByAlias resolves a product by UUID or code (case-insensitive); the oldest wins a clash. */
export async function productByAlias(
  db: Executor,
  accountId: string,
  idOrCode: string,
): Promise<ProductRow | undefined> {
  const q = db.selectFrom('products').selectAll().where('account_id', '=', accountId)
  return (
    isUuid(idOrCode) ? q.where('id', '=', idOrCode.toLowerCase()) : q.where('code_key', '=', idOrCode.toLowerCase())
  )
    .orderBy('created_at')
    .executeTakeFirst()
}

/** packageByAlias resolves a package by UUID or key. */
export async function packageByAlias(
  db: Executor,
  accountId: string,
  idOrKey: string,
): Promise<PackageRow | undefined> {
  const q = db.selectFrom('packages').selectAll().where('account_id', '=', accountId)
  return (isUuid(idOrKey) ? q.where('id', '=', idOrKey.toLowerCase()) : q.where('key', '=', idOrKey))
    .orderBy('created_at')
    .executeTakeFirst()
}

/** entitlementByAlias resolves an entitlement by UUID or code (case-insensitive). */
export async function entitlementByAlias(
  db: Executor,
  accountId: string,
  idOrCode: string,
): Promise<EntitlementRow | undefined> {
  const q = db.selectFrom('entitlements').selectAll().where('account_id', '=', accountId)
  return (
    isUuid(idOrCode) ? q.where('id', '=', idOrCode.toLowerCase()) : q.where('code_key', '=', idOrCode.toLowerCase())
  )
    .orderBy('created_at')
    .executeTakeFirst()
}

/** releaseById reads a release of the account by id. */
export async function releaseById(db: Executor, accountId: string, id: string): Promise<ReleaseRow | undefined> {
  return db
    .selectFrom('releases')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst()
}
