import type { Executor } from './accounts.ts'
import type { PolicyRow } from './types.ts'

/** The policies table: expiry and authentication rules shared by a product's licenses. */

/** policyById reads a policy of the account by id. */
export async function policyById(db: Executor, accountId: string, id: string): Promise<PolicyRow | undefined> {
  return db
    .selectFrom('policies')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst()
}

/** listPolicies reads all policies of the account. */
export async function listPolicies(db: Executor, accountId: string): Promise<PolicyRow[]> {
  return db.selectFrom('policies').selectAll().where('account_id', '=', accountId).execute()
}

/** insertPolicy stores a new policy. */
export async function insertPolicy(db: Executor, row: PolicyRow): Promise<void> {
  await db.insertInto('policies').values(row).execute()
}

/** updatePolicy changes columns of a policy. */
export async function updatePolicy(db: Executor, id: string, patch: Partial<PolicyRow>): Promise<void> {
  await db.updateTable('policies').set(patch).where('id', '=', id).execute()
}

/** deletePolicy removes a policy. */
export async function deletePolicy(db: Executor, id: string): Promise<void> {
  await db.deleteFrom('policies').where('id', '=', id).execute()
}
