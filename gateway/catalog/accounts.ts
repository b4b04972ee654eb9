import { randomBytes } from 'node:crypto'
import { type Kysely, PostgresAdapter, sql, type Transaction } from 'kysely'
import { newId, now } from './db.ts'
import { feedOf, REVISION_CHANNEL, type Revisions } from './revision-feed.ts'
import type { Account, AccountRow, Database } from './types.ts'

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
    auth_revision: 1,
    created_at: ts,
    updated_at: ts,
  }
  await db.insertInto('accounts').values(row).execute()
  return row
}

const ACCOUNT_COLUMNS = ['id', 'slug', 'name', 'created_at', 'updated_at'] as const

/** findAccount resolves an account by UUID or slug (slugs are lower-case), without its secret columns. */
export async function findAccount(db: Executor, idOrSlug: string): Promise<Account | undefined> {
  const q = db.selectFrom('accounts').select(ACCOUNT_COLUMNS)
  return isUuid(idOrSlug)
    ? q.where('id', '=', idOrSlug.toLowerCase()).executeTakeFirst()
    : q.where('slug', '=', idOrSlug.toLowerCase()).executeTakeFirst()
}

export async function firstAccount(db: Executor): Promise<Account | undefined> {
  return db
    .selectFrom('accounts')
    .select(ACCOUNT_COLUMNS)
    .orderBy('created_at')
    .orderBy('id')
    .limit(1)
    .executeTakeFirst()
}

/** Which revision a write changes: content (what engines render), auth (what credentials resolve to), or both. */
export type Touch = 'content' | 'auth' | 'all'

/**
 * bumpRevision marks a change to an account's catalog, in the caller's transaction, and returns the new
 * revisions. On PostgreSQL it also sends NOTIFY, delivered to every instance when the transaction commits.
 * Prefer {@link writeCatalog}, which also tells this instance's feed once the transaction commits.
 */
export async function bumpRevision(db: Executor, accountId: string, touch: Touch = 'all'): Promise<Revisions> {
  const row = await db
    .updateTable('accounts')
    .set((eb) => ({
      ...(touch !== 'auth' ? { revision: eb('revision', '+', 1) } : {}),
      ...(touch !== 'content' ? { auth_revision: eb('auth_revision', '+', 1) } : {}),
    }))
    .where('id', '=', accountId)
    .returning(['revision', 'auth_revision'])
    .executeTakeFirst()
  const revisions = { content: Number(row?.revision ?? 0), auth: Number(row?.auth_revision ?? 0) }
  if (row && db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`select pg_notify(${REVISION_CHANNEL}, ${`${accountId} ${revisions.content} ${revisions.auth} ${Date.now()}`})`.execute(
      db,
    )
  }
  // Outside a transaction the bump has committed already; a transaction's is announced once it commits.
  if (row) feedOf(db)?.observe(accountId, revisions)
  return revisions
}

/**
 * writeCatalog runs a write in one transaction together with the revision bump every catalog write needs, so
 * no caller can forget it, and tells this instance's revision feed once it has committed, so the next request
 * here sees the write. `touch` names what the write changes (default both revisions).
 */
export async function writeCatalog<T>(
  db: Kysely<Database>,
  accountId: string,
  fn: (trx: Transaction<Database>) => Promise<T>,
  touch: Touch = 'all',
): Promise<T> {
  let revisions: Revisions | undefined
  const result = await db.transaction().execute(async (trx) => {
    const out = await fn(trx)
    revisions = await bumpRevision(trx, accountId, touch)
    return out
  })
  if (revisions) announceCommit(db, accountId, revisions)
  return result
}

/**
 * announceCommit tells this instance's revision feed about revisions a committed transaction of db bumped to
 * (for writes that bump conditionally and so cannot use {@link writeCatalog}).
 */
export function announceCommit(db: Kysely<Database>, accountId: string, revisions: Revisions): void {
  feedOf(db)?.observe(accountId, revisions)
}

/** accountSecret reads the key token digests are made with; it never leaves the credential code. */
export async function accountSecret(db: Executor, accountId: string): Promise<string | undefined> {
  const row = await db.selectFrom('accounts').select('secret_key').where('id', '=', accountId).executeTakeFirst()
  return row?.secret_key
}

/** getRevisions reads an account's revisions. */
export async function getRevisions(db: Executor, accountId: string): Promise<Revisions> {
  const row = await db
    .selectFrom('accounts')
    .select(['revision', 'auth_revision'])
    .where('id', '=', accountId)
    .executeTakeFirst()
  return { content: Number(row?.revision ?? 0), auth: Number(row?.auth_revision ?? 0) }
}

/** getRevision reads an account's content revision. */
export async function getRevision(db: Executor, accountId: string): Promise<number> {
  return (await getRevisions(db, accountId)).content
}
