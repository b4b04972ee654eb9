import type { Kysely } from 'kysely'
import { announceCommit, bumpRevision } from './accounts.ts'
import { now } from './db.ts'
import type { Revisions } from './revision-feed.ts'
import type { ArtifactRow, Database } from './types.ts'

/**
 * The catalog side of write-once uploads: an artifact accepts the bytes of its upload key once, while it is
 * WAITING. Claiming moves it to PROCESSING, so a second PUT (or one racing the first) finds it taken.
 */

export type UploadTarget = Pick<ArtifactRow, 'id' | 'account_id' | 'release_id' | 'status' | 'filesize'>

/** findUpload reads the artifact whose current upload key is key; undefined when there is none. */
export async function findUpload(
  db: Kysely<Database>,
  ids: { accountId: string; artifactId: string },
  key: string,
): Promise<UploadTarget | undefined> {
  const row = await db
    .selectFrom('artifacts')
    .select(['id', 'account_id', 'release_id', 'status', 'filesize'])
    .where('id', '=', ids.artifactId)
    .where('account_id', '=', ids.accountId)
    .where('upload_key', '=', key)
    .executeTakeFirst()
  return row && { ...row, filesize: row.filesize === null ? null : Number(row.filesize) }
}

/**
 * setUploadStatus moves the artifact with upload key `key` from status `from` to `to` (with an optional reason),
 * bumping the content revision only when the row changed. False when the artifact was not in status `from`.
 */
export async function setUploadStatus(
  db: Kysely<Database>,
  target: Pick<UploadTarget, 'id' | 'account_id'>,
  key: string,
  from: ArtifactRow['status'],
  to: ArtifactRow['status'],
  reason: string | null = null,
): Promise<boolean> {
  let revisions: Revisions | undefined
  await db.transaction().execute(async (trx) => {
    const r = await trx
      .updateTable('artifacts')
      .set({ status: to, status_reason: reason, updated_at: now() })
      .where('id', '=', target.id)
      .where('upload_key', '=', key)
      .where('status', '=', from)
      .executeTakeFirst()
    if (Number(r.numUpdatedRows) > 0) revisions = await bumpRevision(trx, target.account_id, 'content')
  })
  if (revisions) announceCommit(db, target.account_id, revisions)
  return revisions !== undefined
}
