import type { Executor } from './accounts.ts'
import type { PackageRow } from './types.ts'

/** The packages table. Lookups by alias live in aliases.ts. */

/** insertPackage stores a new package. */
export async function insertPackage(db: Executor, row: PackageRow): Promise<void> {
  await db.insertInto('packages').values(row).execute()
}

/** updatePackage changes columns of a package. */
export async function updatePackage(db: Executor, id: string, patch: Partial<PackageRow>): Promise<void> {
  await db.updateTable('packages').set(patch).where('id', '=', id).execute()
}

/** deletePackage removes a package. */
export async function deletePackage(db: Executor, id: string): Promise<void> {
  await db.deleteFrom('packages').where('id', '=', id).execute()
}
