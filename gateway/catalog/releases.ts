import type { Executor } from './accounts.ts'
import type { ReleaseRow } from './types.ts'

/** The releases table, for writes. Reads go through the read model; releaseById lives in aliases.ts. */

/** releaseIdWithVersion reads the id of the release of a product and package scope with that version. */
export async function releaseIdWithVersion(
  db: Executor,
  release: Pick<ReleaseRow, 'product_id' | 'package_scope' | 'version'>,
): Promise<Pick<ReleaseRow, 'id'> | undefined> {
  return db
    .selectFrom('releases')
    .select('id')
    .where('product_id', '=', release.product_id)
    .where('package_scope', '=', release.package_scope)
    .where('version', '=', release.version)
    .executeTakeFirst()
}

/** otherReleaseIdWithTag reads the id of another release of the same product and package scope with that tag. */
export async function otherReleaseIdWithTag(
  db: Executor,
  release: Pick<ReleaseRow, 'product_id' | 'package_scope' | 'id'>,
  tag: string,
): Promise<Pick<ReleaseRow, 'id'> | undefined> {
  return db
    .selectFrom('releases')
    .select('id')
    .where('product_id', '=', release.product_id)
    .where('package_scope', '=', release.package_scope)
    .where('tag', '=', tag)
    .where('id', '!=', release.id)
    .executeTakeFirst()
}

/** releaseIdsOfProduct reads the ids of a product's releases. */
export async function releaseIdsOfProduct(db: Executor, productId: string): Promise<Pick<ReleaseRow, 'id'>[]> {
  return db.selectFrom('releases').select('id').where('product_id', '=', productId).execute()
}

/** packageHasReleases tells whether any release belongs to the package. */
export async function packageHasReleases(db: Executor, packageId: string): Promise<boolean> {
  const row = await db.selectFrom('releases').select('id').where('package_id', '=', packageId).executeTakeFirst()
  return row !== undefined
}

/** insertRelease stores a new release. */
export async function insertRelease(db: Executor, row: ReleaseRow): Promise<void> {
  await db.insertInto('releases').values(row).execute()
}

/** updateRelease changes columns of a release. */
export async function updateRelease(db: Executor, id: string, patch: Partial<ReleaseRow>): Promise<void> {
  await db.updateTable('releases').set(patch).where('id', '=', id).execute()
}

/** deleteRelease removes a release (its artifacts and constraints cascade). */
export async function deleteRelease(db: Executor, id: string): Promise<void> {
  await db.deleteFrom('releases').where('id', '=', id).execute()
}
