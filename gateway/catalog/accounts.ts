import { randomBytes } from 'node:crypto'
import type { Kysely, Transaction } from 'kysely'
import { newId, now } from './db.ts'
import type { AccountRow, Database } from './types.ts'

export type Executor = Kysely<Database> | Transaction<Database>

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
export const isUuid = (v: string): boolean => UUID.test(v)

export const SLUG = /^[a-z0-9][-a-z0-9]+$/

export async function createAccount(db: Executor, slug: string, name = slug): Promise<AccountRow> {
  const ts = now()
  const row: AccountRow = {
    id: newId(),
    slug,
    name,
    secret_key: randomBytes(32).toString('hex'),
    revision: 1,
    created_at: ts,
    updated_at: ts,
  }
  await db.insertInto('accounts').values(row).execute()
  return row
}

/** findAccount resolves an account by UUID or slug (slugs are lower-case). */
export async function findAccount(db: Executor, idOrSlug: string): Promise<AccountRow | undefined> {
  const q = db.selectFrom('accounts').selectAll()
  return isUuid(idOrSlug)
    ? q.where('id', '=', idOrSlug.toLowerCase()).executeTakeFirst()
    : q.where('slug', '=', idOrSlug.toLowerCase()).executeTakeFirst()
}

export async function firstAccount(db: Executor): Promise<AccountRow | undefined> {
  return db.selectFrom('accounts').selectAll().orderBy('created_at').orderBy('id').limit(1).executeTakeFirst()
}

/**
 * bumpRevision marks a change to an account's catalog. Every write calls it in the same transaction;
 * caches key on the revision, so every gateway instance sees the change on its next request.
 */
export async function bumpRevision(db: Executor, accountId: string): Promise<void> {
  await db
    .updateTable('accounts')
    .set((eb) => ({ revision: eb('revision', '+', 1) }))
    .where('id', '=', accountId)
    .execute()
}

export async function getRevision(db: Executor, accountId: string): Promise<number> {
  const row = await db.selectFrom('accounts').select('revision').where('id', '=', accountId).executeTakeFirst()
  return Number(row?.revision ?? 0)
}

/**
 * writeCatalog runs a write in one transaction together with the revision bump every catalog write needs, so
 * no caller can forget it.
 */
export async function writeCatalog<T>(
  db: Kysely<Database>,
  accountId: string,
  fn: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  return db.transaction().execute(async (trx) => {
    const result = await fn(trx)
    await bumpRevision(trx, accountId)
    return result
  })
}
