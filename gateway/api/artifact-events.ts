import type { FastifyInstance } from 'fastify'
import { updateArtifact } from '../catalog/artifacts.ts'
import { type Executor, writeCatalog } from '../catalog/accounts.ts'
import { now } from '../catalog/db.ts'
import type { ArtifactRow } from '../catalog/types.ts'
import { findUpload, setUploadStatus } from '../catalog/uploads.ts'
import { GatewayError, notFound } from '../errors.ts'
import type { UploadGate } from '../plugins/services.ts'
import { UploadTooLargeError } from '../storage/bounded-body.ts'
import { parseUploadKey } from '../storage/keys.ts'
import { enqueueProcessUpload, enqueueWaitForUpload } from '../../workers/kinds.ts'

const uploadClosed = (status: string) =>
  new GatewayError(
    'UPLOAD_CLOSED',
    `This upload URL accepts one upload while its artifact is WAITING; the artifact is ${status}`,
    409,
  )

/**
 * What happens to an artifact's bytes after the API creates it:
 * - uploads through the gateway's signed PUT route (filesystem store, and unsized uploads on any store): the route
 *   asks `gate`, which claims the artifact (WAITING → PROCESSING) and enqueues `process-upload` once the bytes are
 *   stored (a gateway that dies mid-upload leaves the artifact PROCESSING: delete it and upload again);
 * - presigned stores (S3): the gateway never sees the PUT, so `wait-for-upload` polls for the object.
 * Either way the bytes land at the artifact's upload key, and the worker promotes them to the served key only after
 * verifying them: verified bytes are final. An edited size or checksum re-verifies the bytes already stored (the
 * artifact goes back to PROCESSING, which no customer is ever served, until the worker has checked them).
 */
export function artifactEvents(fastify: FastifyInstance) {
  /**
   * reverify puts an artifact back to PROCESSING and queues its verification, in the caller's transaction
   * (a {@link writeCatalog} one, which bumps the revision).
   */
  const reverify = async (db: Executor, row: Pick<ArtifactRow, 'id' | 'account_id' | 'status'>) => {
    if (row.status !== 'WAITING' && row.status !== 'PROCESSING') {
      await updateArtifact(db, row.id, { status: 'PROCESSING', status_reason: null, updated_at: now() })
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
    /**
     * gate is the signed PUT route's {@link UploadGate}: an artifact's upload key takes one PUT, while the artifact
     * is WAITING, of at most its declared size (else `storage.maxUploadSize`). A PUT that breaks off fails it.
     */
    gate: (async (key, length) => {
      const ids = parseUploadKey(key)
      const target = ids ? await findUpload(fastify.catalog.db, ids) : undefined
      if (!target) throw notFound('No artifact is waiting for this upload', 'UPLOAD_NOT_FOUND')
      // Its upload was taken already (and maybe verified and promoted): the URL is spent.
      if (target.status !== 'WAITING' || target.upload_key !== key) throw uploadClosed(target.status)
      const maxBytes = target.filesize ?? fastify.config.storage.maxUploadSize
      if (length !== undefined && length > maxBytes) throw new UploadTooLargeError(maxBytes)
      if (length !== undefined && target.filesize !== null && length !== target.filesize) {
        throw new GatewayError(
          'UPLOAD_SIZE_MISMATCH',
          `The artifact declared ${target.filesize} bytes; this upload has ${length}`,
          400,
        )
      }
      if (!(await setUploadStatus(fastify.catalog.db, target, key, 'WAITING', 'PROCESSING'))) {
        throw uploadClosed('PROCESSING')
      }
      return {
        maxBytes,
        async stored() {
          await enqueueProcessUpload(fastify.catalog.db, target)
          fastify.workers?.wake()
        },
        async broken(reason) {
          await setUploadStatus(fastify.catalog.db, target, key, 'PROCESSING', 'FAILED', `upload failed: ${reason}`)
        },
      }
    }) satisfies UploadGate,
  }
}
