import type { Executor } from './accounts.ts'
import type { ReleaseConstraintRow } from './types.ts'

/** The release_constraints table: the entitlements a customer needs to see a release. */

/** constraintsOfRelease reads a release's constraints. */
export async function constraintsOfRelease(db: Executor, releaseId: string): Promise<ReleaseConstraintRow[]> {
  return db.selectFrom('release_constraints').selectAll().where('release_id', '=', releaseId).execute()
}

/** insertConstraints stores new constraints (at least one) in one statement. */
export async function insertConstraints(db: Executor, rows: ReleaseConstraintRow[]): Promise<void> {
  await db.insertInto('release_constraints').values(rows).execute()
}

/** deleteConstraints removes those of a release's constraints whose id is listed. */
export async function deleteConstraints(db: Executor, releaseId: string, ids: string[]): Promise<void> {
  await db.deleteFrom('release_constraints').where('release_id', '=', releaseId).where('id', 'in', ids).execute()
}
