import type { Executor } from './accounts.ts'
import type { ProductRow } from './types.ts'

/** The products table. Lookups by alias live in aliases.ts. */

/** productById reads a product of the account by id. */
export async function productById(db: Executor, accountId: string, id: string): Promise<ProductRow | undefined> {
  return db
    .selectFrom('products')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst()
}

/** productIdByIdOrCode reads the id of the account's product with that id or code (case-insensitive). */
export async function productIdByIdOrCode(
  db: Executor,
  accountId: string,
  idOrCode: string,
): Promise<Pick<ProductRow, 'id'> | undefined> {
  return db
    .selectFrom('products')
    .select('id')
    .where('account_id', '=', accountId)
    .where((eb) => eb.or([eb('id', '=', idOrCode), eb('code_key', '=', idOrCode.toLowerCase())]))
    .executeTakeFirst()
}

/** hasProducts tells whether the account has any product. */
export async function hasProducts(db: Executor, accountId: string): Promise<boolean> {
  const row = await db.selectFrom('products').select('id').where('account_id', '=', accountId).executeTakeFirst()
  return row !== undefined
}

/** insertProduct stores a new product. */
export async function insertProduct(db: Executor, row: ProductRow): Promise<void> {
  await db.insertInto('products').values(row).execute()
}

/** updateProduct changes columns of a product. */
export async function updateProduct(db: Executor, id: string, patch: Partial<ProductRow>): Promise<void> {
  await db.updateTable('products').set(patch).where('id', '=', id).execute()
}

/** deleteProduct removes a product (the rows that belong to it cascade). */
export async function deleteProduct(db: Executor, id: string): Promise<void> {
  await db.deleteFrom('products').where('id', '=', id).execute()
}
