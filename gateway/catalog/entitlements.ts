import type { Executor } from './accounts.ts'
import { newId } from './db.ts'
import type { EntitlementRow } from './types.ts'

/** The entitlements table and the links that attach entitlements to policies and licenses. */

/** entitlementIdsIn reads which of the ids are entitlements of the account. */
export async function entitlementIdsIn(
  db: Executor,
  accountId: string,
  ids: string[],
): Promise<Pick<EntitlementRow, 'id'>[]> {
  return db.selectFrom('entitlements').select('id').where('account_id', '=', accountId).where('id', 'in', ids).execute()
}

/** insertEntitlement stores a new entitlement. */
export async function insertEntitlement(db: Executor, row: EntitlementRow): Promise<void> {
  await db.insertInto('entitlements').values(row).execute()
}

/** updateEntitlement changes columns of an entitlement. */
export async function updateEntitlement(db: Executor, id: string, patch: Partial<EntitlementRow>): Promise<void> {
  await db.updateTable('entitlements').set(patch).where('id', '=', id).execute()
}

/** deleteEntitlement removes an entitlement. */
export async function deleteEntitlement(db: Executor, id: string): Promise<void> {
  await db.deleteFrom('entitlements').where('id', '=', id).execute()
}

/**
 * linkEntitlement attaches an entitlement to a policy or license (the `column` of `table` names the owner); an
 * existing link is kept as it is.
 */
export async function linkEntitlement(
  db: Executor,
  table: 'policy_entitlements' | 'license_entitlements',
  column: 'policy_id' | 'license_id',
  link: { accountId: string; ownerId: string; entitlementId: string; ts: string },
): Promise<void> {
  await db
    .insertInto(table)
    .values({
      id: newId(),
      account_id: link.accountId,
      [column]: link.ownerId,
      entitlement_id: link.entitlementId,
      created_at: link.ts,
      updated_at: link.ts,
    } as never)
    .onConflict((oc) => oc.columns([column, 'entitlement_id']).doNothing())
    .execute()
}
