import type { FastifyInstance } from 'fastify'
import type { Executor } from '../catalog/accounts.ts'
import type { ArtifactRow } from '../catalog/types.ts'
import { parseArtifactKey } from '../storage/keys.ts'
import { enqueue } from '../../workers/queue.ts'

/**
 * What happens to an artifact's bytes after the API creates it: processing jobs are enqueued in the same
 * transaction as the change that causes them, so a crash never loses one.
 * - filesystem store: the gateway receives the PUT itself and enqueues `process-upload` when it completes;
 * - presigned stores (S3): the gateway never sees the PUT, so `wait-for-upload` polls for the object.
 */
export function artifactEvents(fastify: FastifyInstance) {
  const processUpload = (db: Executor, row: Pick<ArtifactRow, 'id' | 'account_id'>) =>
    enqueue(db, {
      kind: 'process-upload',
      accountId: row.account_id,
      payload: { artifactId: row.id },
      dedupeKey: `process-upload:${row.id}`,
    })
  return {
    async created(db: Executor, row: ArtifactRow) {
      if (fastify.blobs.name === 'filesystem') return
      await enqueue(db, {
        kind: 'wait-for-upload',
        accountId: row.account_id,
        payload: { artifactId: row.id },
        dedupeKey: `wait-for-upload:${row.id}`,
      })
    },
    /** changed re-verifies an artifact whose declared size or checksum was edited after its upload. */
    async changed(db: Executor, row: ArtifactRow) {
      if (row.status !== 'WAITING') await processUpload(db, row)
    },
    /** uploaded is the signed PUT route's listener: the object at key is complete. */
    async uploaded(key: string) {
      const parsed = parseArtifactKey(key)
      if (!parsed) return
      const { db } = fastify.catalog
      await db.transaction().execute(async (trx) => {
        const row = await trx
          .selectFrom('artifacts')
          .select(['id', 'account_id'])
          .where('account_id', '=', parsed.accountId)
          .where('release_id', '=', parsed.releaseId)
          .where('filename', '=', parsed.filename)
          .executeTakeFirst()
        if (row) await processUpload(trx, row)
      })
    },
  }
}
