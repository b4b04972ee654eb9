import type { FastifyInstance } from 'fastify'
import { type Executor, writeCatalog } from '../catalog/accounts.ts'
import { now } from '../catalog/db.ts'
import type { ArtifactRow } from '../catalog/types.ts'
import { parseArtifactKey } from '../storage/keys.ts'
import { enqueueProcessUpload, enqueueWaitForUpload } from '../../workers/kinds.ts'

/**
 * What happens to an artifact's bytes after the API creates it: processing jobs are enqueued in the same
 * transaction as the change that causes them, so a crash never loses one.
 * - filesystem store: the gateway receives the PUT itself and enqueues `process-upload` when it completes;
 * - presigned stores (S3): the gateway never sees the PUT, so `wait-for-upload` polls for the object.
 * Bytes that change after verification (a second PUT, an edited size or checksum) are verified again: the
 * artifact goes back to PROCESSING, which no customer is ever served, until the worker has checked them.
 */
export function artifactEvents(fastify: FastifyInstance) {
  /**
   * reverify puts an artifact back to PROCESSING and queues its verification, in the caller's transaction
   * (a {@link writeCatalog} one, which bumps the revision).
   */
  const reverify = async (db: Executor, row: Pick<ArtifactRow, 'id' | 'account_id' | 'status'>) => {
    if (row.status !== 'WAITING' && row.status !== 'PROCESSING') {
      await db
        .updateTable('artifacts')
        .set({ status: 'PROCESSING', status_reason: null, updated_at: now() })
        .where('id', '=', row.id)
        .execute()
    }
    await enqueueProcessUpload(db, row)
  }
  return {
    async created(db: Executor, row: ArtifactRow) {
      if (fastify.blobs.name !== 'filesystem') await enqueueWaitForUpload(db, row)
    },
    /** changed re-verifies an artifact whose declared size or checksum was edited after its upload. */
    async changed(db: Executor, row: ArtifactRow) {
      if (row.status !== 'WAITING') await reverify(db, row)
    },
    /** uploaded is the signed PUT route's listener: the object at key is complete. */
    async uploaded(key: string) {
      const parsed = parseArtifactKey(key)
      if (!parsed) return
      await writeCatalog(
        fastify.catalog.db,
        parsed.accountId,
        async (trx) => {
          const row = await trx
            .selectFrom('artifacts')
            .select(['id', 'account_id', 'status'])
            .where('account_id', '=', parsed.accountId)
            .where('release_id', '=', parsed.releaseId)
            .where('filename', '=', parsed.filename)
            .executeTakeFirst()
          if (row) await reverify(trx, row)
        },
        'content',
      )
      fastify.workers?.wake()
    },
  }
}
