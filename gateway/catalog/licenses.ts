import { type Executor, isUuid } from './accounts.ts'
import type { LicenseRow, LicenseUserRow } from './types.ts'

/** The licenses table and the users a license is shared with. Policy reads of licenses live in credentials.ts. */

/** licenseByAlias reads a license of the account by UUID or key (a UUID-shaped key matches too). */
export async function licenseByAlias(
  db: Executor,
  accountId: string,
  idOrKey: string,
): Promise<LicenseRow | undefined> {
  const q = db.selectFrom('licenses').selectAll().where('account_id', '=', accountId)
  return (
    isUuid(idOrKey)
      ? q.where((eb) => eb.or([eb('id', '=', idOrKey.toLowerCase()), eb('key', '=', idOrKey)]))
      : q.where('key', '=', idOrKey)
  ).executeTakeFirst()
}

/** licenseById reads a license by id; it must exist. */
export async function licenseById(db: Executor, id: string): Promise<LicenseRow> {
  return db.selectFrom('licenses').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
}

/** licenseIdByKey reads the id of the account's license with that key. */
export async function licenseIdByKey(
  db: Executor,
  accountId: string,
  key: string,
): Promise<Pick<LicenseRow, 'id'> | undefined> {
  return db
    .selectFrom('licenses')
    .select('id')
    .where('account_id', '=', accountId)
    .where('key', '=', key)
    .executeTakeFirst()
}

/** listLicenses reads all licenses of the account. */
export async function listLicenses(db: Executor, accountId: string): Promise<LicenseRow[]> {
  return db.selectFrom('licenses').selectAll().where('account_id', '=', accountId).execute()
}

/** insertLicense stores a new license. */
export async function insertLicense(db: Executor, row: LicenseRow): Promise<void> {
  await db.insertInto('licenses').values(row).execute()
}

/** updateLicense changes columns of a license. */
export async function updateLicense(db: Executor, id: string, patch: Partial<LicenseRow>): Promise<void> {
  await db.updateTable('licenses').set(patch).where('id', '=', id).execute()
}

/** deleteLicense removes a license. */
export async function deleteLicense(db: Executor, id: string): Promise<void> {
  await db.deleteFrom('licenses').where('id', '=', id).execute()
}

/** linkLicenseUser shares a license with a user; an existing link is kept as it is. */
export async function linkLicenseUser(db: Executor, row: LicenseUserRow): Promise<void> {
  await db
    .insertInto('license_users')
    .values(row)
    .onConflict((oc) => oc.columns(['license_id', 'user_id']).doNothing())
    .execute()
}
