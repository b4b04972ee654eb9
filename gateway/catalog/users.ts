import { type Executor, isUuid } from './accounts.ts'
import type { UserRow } from './types.ts'

/** The users table: people who log in with a password. Credential reads live in credentials.ts. */

/** userByAlias reads a user of the account by UUID or email (case-insensitive). */
export async function userByAlias(db: Executor, accountId: string, idOrEmail: string): Promise<UserRow | undefined> {
  const q = db.selectFrom('users').selectAll().where('account_id', '=', accountId)
  return (
    isUuid(idOrEmail) ? q.where('id', '=', idOrEmail.toLowerCase()) : q.where('email_key', '=', idOrEmail.toLowerCase())
  ).executeTakeFirst()
}

/** userById reads a user by id. */
export async function userById(db: Executor, id: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
}

/** userIdByEmailKey reads the id of the account's user with that lower-cased email. */
export async function userIdByEmailKey(
  db: Executor,
  accountId: string,
  emailKey: string,
): Promise<Pick<UserRow, 'id'> | undefined> {
  return db
    .selectFrom('users')
    .select('id')
    .where('account_id', '=', accountId)
    .where('email_key', '=', emailKey)
    .executeTakeFirst()
}

/** userExists tells whether a user of the account has that id. */
export async function userExists(db: Executor, accountId: string, id: string): Promise<boolean> {
  const row = await db
    .selectFrom('users')
    .select('id')
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst()
  return row !== undefined
}

/** userIdsIn reads which of the ids are users of the account. */
export async function userIdsIn(db: Executor, accountId: string, ids: string[]): Promise<Pick<UserRow, 'id'>[]> {
  return db.selectFrom('users').select('id').where('account_id', '=', accountId).where('id', 'in', ids).execute()
}

/** userBannedAt reads when a user was banned (null when not banned, undefined when there is no such user). */
export async function userBannedAt(db: Executor, id: string): Promise<string | null | undefined> {
  return (await db.selectFrom('users').select('banned_at').where('id', '=', id).executeTakeFirst())?.banned_at
}

/** listUsers reads all users of the account. */
export async function listUsers(db: Executor, accountId: string): Promise<UserRow[]> {
  return db.selectFrom('users').selectAll().where('account_id', '=', accountId).execute()
}

/** insertUser stores a new user. */
export async function insertUser(db: Executor, row: UserRow): Promise<void> {
  await db.insertInto('users').values(row).execute()
}

/** updateUser changes columns of a user. */
export async function updateUser(db: Executor, id: string, patch: Partial<UserRow>): Promise<void> {
  await db.updateTable('users').set(patch).where('id', '=', id).execute()
}

/** deleteUser removes a user. */
export async function deleteUser(db: Executor, id: string): Promise<void> {
  await db.deleteFrom('users').where('id', '=', id).execute()
}
