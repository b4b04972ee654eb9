import type { Kysely } from 'kysely'
import { announceCommit, bumpRevision } from './accounts.ts'
import { now } from './db.ts'
import type { Revisions } from './revision-feed.ts'
import type { ArtifactRow, Database } from './types.ts'

/**
 * The catalog side of write-once uploads: an artifact accepts the bytes of its upload key once, while it is
 * WAITING. Claiming moves it to PROCESSING, so a second PUT (or one racing the first) finds it taken.
 */

export interface UploadTarget extends Pick<ArtifactRow, 'id' | 'account_id' | 'release_id' | 'status' | 'filesize'> {
  /** Null once the upload was verified and promoted. */
  upload_key: string | null
}

/** findUpload reads the artifact an upload key was made for; undefined when it is gone. */
export async function findUpload(
  db: Kysely<Database>,
  ids: { accountId: string; releaseId: string; artifactId: string },
): Promise<UploadTarget | undefined> {
  const row = await db
    .selectFrom('artifacts')
    .select(['id', 'account_id', 'release_id', 'status', 'filesize', 'upload_key'])
    .where('id', '=', ids.artifactId)
    .where('account_id', '=', ids.accountId)
    .where('release_id', '=', ids.releaseId)
    .executeTakeFirst()
  return (
    row && { ...row, filesize: row.filesize === null ? null : Number(row.filesize), upload_key: row.upload_key ?? null }
  )
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
