import type { Executor } from './accounts.ts'
import type { TokenRow } from './types.ts'

/** The tokens table. Lookups by digest (credential resolution) live in credentials.ts. */

/** Which of an account's tokens a query sees: all, those of one bearer, or one token. */
export type TokenScope = 'all' | { bearerId: string } | { tokenId: string }

function scoped(db: Executor, accountId: string, scope: TokenScope) {
  const q = db.selectFrom('tokens').selectAll().where('account_id', '=', accountId)
  if (scope === 'all') return q
  return 'bearerId' in scope ? q.where('bearer_id', '=', scope.bearerId) : q.where('id', '=', scope.tokenId)
}

/** listTokens reads the account's tokens in a scope. */
export async function listTokens(db: Executor, accountId: string, scope: TokenScope): Promise<TokenRow[]> {
  return scoped(db, accountId, scope).execute()
}

/** tokenInScope reads the account's token with that id if it is in the scope. */
export async function tokenInScope(
  db: Executor,
  accountId: string,
  scope: TokenScope,
  id: string,
): Promise<TokenRow | undefined> {
  return scoped(db, accountId, scope).where('id', '=', id).executeTakeFirst()
}

/** tokenById reads a token by id; it must exist. */
export async function tokenById(db: Executor, id: string): Promise<TokenRow> {
  return db.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
}

/** insertToken stores a new token (its digest, never the raw value). */
export async function insertToken(db: Executor, row: TokenRow): Promise<void> {
  await db.insertInto('tokens').values(row).execute()
}

/** deleteToken removes a token. */
export async function deleteToken(db: Executor, id: string): Promise<void> {
  await db.deleteFrom('tokens').where('id', '=', id).execute()
}
