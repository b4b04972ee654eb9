import type { Kysely } from 'kysely'
import { announceCommit, bumpRevision, type Executor } from './accounts.ts'
import { newId, now } from './db.ts'
import type { Revisions } from './revision-feed.ts'
import type { Database, DescriptorRow } from './types.ts'

/**
 * The catalog side of OCI images: what the oci-ingest worker writes for an image tarball (its manifests, with their
 * exact bytes, and a descriptor per stored blob), and what the registry reads that the account snapshot does not
 * hold (descriptors by digest).
 */

/** An artifact as the ingest worker needs it. */
export interface IngestTarget {
  id: string
  account_id: string
  release_id: string
  filename: string
  status: string
  /** Hex SHA-256 the upload worker measured; null until the upload is verified. */
  sha256: string | null
  content_length: number | null
}

/** findIngestTarget reads an artifact for ingestion, or undefined. */
export async function findIngestTarget(db: Executor, artifactId: string): Promise<IngestTarget | undefined> {
  const row = await db
    .selectFrom('artifacts')
    .select(['id', 'account_id', 'release_id', 'filename', 'status', 'sha256', 'content_length'])
    .where('id', '=', artifactId)
    .executeTakeFirst()
  return row && { ...row, content_length: row.content_length === null ? null : Number(row.content_length) }
}

export interface ImageRows {
  manifests: { contentType: string; digest: string; length: number; path: string; content: string }[]
  descriptors: { contentType: string; digest: string; length: number; path: string }[]
}

/**
 * recordImage makes an ingested image servable, in one transaction: its manifests and descriptors replace any
 * earlier ones of the artifact, the artifact becomes UPLOADED, and the account's content revision moves. Guarded
 * by status PROCESSING and the verified SHA-256 the image was read from: false (nothing written) when the artifact
 * moved on meanwhile (another run finished it, or new bytes were uploaded).
 */
export async function recordImage(db: Kysely<Database>, target: IngestTarget, rows: ImageRows): Promise<boolean> {
  return finishIngest(db, target, { status: 'UPLOADED', status_reason: null }, async (trx, ts) => {
    const base = { account_id: target.account_id, release_id: target.release_id, artifact_id: target.id }
    const stamps = { created_at: ts, updated_at: ts }
    const manifests = rows.manifests.map((m) => ({
      id: newId(),
      ...base,
      content_type: m.contentType,
      content_digest: m.digest,
      content_length: m.length,
      content_path: m.path,
      content: m.content,
      ...stamps,
    }))
    const descriptors = rows.descriptors.map((d) => ({
      id: newId(),
      ...base,
      content_type: d.contentType,
      content_digest: d.digest,
      content_length: d.length,
      content_path: d.path,
      ...stamps,
    }))
    // Chunked: PostgreSQL binds at most 65535 parameters per statement.
    for (let i = 0; i < manifests.length; i += 500) {
      await trx
        .insertInto('manifests')
        .values(manifests.slice(i, i + 500))
        .execute()
    }
    for (let i = 0; i < descriptors.length; i += 1000) {
      await trx
        .insertInto('descriptors')
        .values(descriptors.slice(i, i + 1000))
        .execute()
    }
  })
}

/** failIngest marks a PROCESSING artifact FAILED with a one-line reason (same guard as {@link recordImage}). */
export async function failIngest(db: Kysely<Database>, target: IngestTarget, reason: string): Promise<boolean> {
  return finishIngest(db, target, { status: 'FAILED', status_reason: reason }, async () => {})
}

async function finishIngest(
  db: Kysely<Database>,
  target: IngestTarget,
  outcome: { status: 'UPLOADED' | 'FAILED'; status_reason: string | null },
  insert: (trx: Executor, ts: string) => Promise<void>,
): Promise<boolean> {
  let revisions: Revisions | undefined
  const done = await db.transaction().execute(async (trx) => {
    const ts = now()
    let update = trx
      .updateTable('artifacts')
      .set({ ...outcome, updated_at: ts })
      .where('id', '=', target.id)
      .where('status', '=', 'PROCESSING')
    update = target.sha256 === null ? update.where('sha256', 'is', null) : update.where('sha256', '=', target.sha256)
    if (Number((await update.executeTakeFirst()).numUpdatedRows) === 0) return false
    await trx.deleteFrom('manifests').where('artifact_id', '=', target.id).execute()
    await trx.deleteFrom('descriptors').where('artifact_id', '=', target.id).execute()
    await insert(trx, ts)
    revisions = await bumpRevision(trx, target.account_id, 'content')
    return true
  })
  if (revisions) announceCommit(db, target.account_id, revisions)
  return done
}

/** findDescriptorsByDigest lists an account's descriptors of one blob, oldest first. */
export async function findDescriptorsByDigest(
  db: Executor,
  accountId: string,
  digest: string,
): Promise<DescriptorRow[]> {
  return db
    .selectFrom('descriptors')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('content_digest', '=', digest)
    .orderBy('created_at')
    .orderBy('id')
    .execute()
}
