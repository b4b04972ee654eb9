import type { Executor } from './accounts.ts'
import { newId, now } from './db.ts'
import type { EngineKey } from './types.ts'

/** The engines table: which engines an account's packages use. */

/** ensureEngine creates the account's engine row the first time a package uses an engine. */
export async function ensureEngine(db: Executor, accountId: string, engine: EngineKey | null): Promise<void> {
  if (!engine) return
  const ts = now()
  await db
    .insertInto('engines')
    .values({ id: newId(), account_id: accountId, key: engine, name: null, created_at: ts, updated_at: ts })
    .onConflict((oc) => oc.columns(['account_id', 'key']).doNothing())
    .execute()
}
