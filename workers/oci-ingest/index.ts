import { createHash } from 'node:crypto'
import { MANIFEST_TYPES } from '../../formats/manifest-types.ts'
import { failIngest, findIngestTarget, type IngestTarget, recordImage } from '../../gateway/catalog/oci.ts'
import { BlobNotFoundError } from '../../gateway/storage/blob-store.ts'
import { artifactKey } from '../../gateway/storage/keys.ts'
import { type ArtifactJobPayload, JOB_KINDS } from '../kinds.ts'
import { backoffDelay } from '../../gateway/catalog/jobs.ts'
import type { JobContext, JobHandler } from '../runner.ts'
import { oneLine, RejectedUpload, UploadMissing } from '../process-upload/errors.ts'
import { type ImagePlan, planImage } from './image-layout.ts'
import { scanLayout } from './ingest.ts'
import { DEFAULT_OCI_LIMITS, type OciIngestLimits, ociLimitReasons } from './limits.ts'

/**
 * oci-ingest turns a verified OCI image layout tarball into a pullable image. process-upload verifies the upload
 * (size, checksum), records its SHA-256 and leaves the artifact PROCESSING; this job then reads the tarball once
 * (ingest.ts), stores its blobs content-addressed, walks `index.json` (image-layout.ts) and, in one transaction,
 * writes the manifests and descriptors and marks the artifact UPLOADED, or FAILED with a reason and no rows at all.
 * Idempotent: blobs are content-addressed and skipped when stored, and the final write is guarded by status
 * PROCESSING and the verified SHA-256, so a second run (after a crash, or a duplicate job) changes nothing.
 */

type Ctx = Pick<JobContext, 'catalog' | 'blobs' | 'log'> & { signal?: AbortSignal }

export interface IngestResult {
  /** `skipped`: the artifact was not waiting for ingestion (done already, failed, or not verified). */
  status: 'UPLOADED' | 'FAILED' | 'skipped'
  reason?: string
}

/** ingestArtifact ingests one artifact; storage and database errors throw (the job retries). */
export async function ingestArtifact(
  ctx: Ctx,
  artifactId: string,
  limits: OciIngestLimits = DEFAULT_OCI_LIMITS,
): Promise<IngestResult> {
  const target = await findIngestTarget(ctx.catalog.db, artifactId)
  if (target?.status !== 'PROCESSING' || target.sha256 === null) return { status: 'skipped' }
  let plan: ImagePlan
  try {
    plan = await readImage(ctx, target, limits)
  } catch (err) {
    if (!(err instanceof RejectedUpload)) throw err
    return fail(ctx, target, err.reason)
  }
  const layoutIndex = Buffer.from(plan.layoutIndex, 'utf8')
  const written = await recordImage(ctx.catalog.db, target, {
    manifests: [
      {
        contentType: MANIFEST_TYPES.ociLayoutIndex,
        digest: `sha256:${createHash('sha256').update(layoutIndex).digest('hex')}`,
        length: layoutIndex.length,
        path: 'index.json',
        content: plan.layoutIndex,
      },
      ...plan.manifests.map((m) => ({
        contentType: m.mediaType,
        digest: m.digest,
        length: m.size,
        path: m.path,
        content: m.content,
      })),
    ],
    descriptors: plan.blobs.map((b) => ({ contentType: b.mediaType, digest: b.digest, length: b.size, path: b.path })),
  })
  if (!written) return { status: 'skipped' }
  ctx.log.info(
    { artifact: target.id, manifests: plan.manifests.length, blobs: plan.blobs.length, roots: plan.roots },
    'image ingested',
  )
  return { status: 'UPLOADED' }
}

async function readImage(ctx: Ctx, target: IngestTarget, limits: OciIngestLimits): Promise<ImagePlan> {
  if (target.content_length !== null && target.content_length > limits.maxTarballBytes) {
    throw new RejectedUpload(ociLimitReasons.tarball(limits))
  }
  const key = artifactKey(target.account_id, target.release_id, target.filename)
  const source = await ctx.blobs.read(key, { signal: ctx.signal }).catch((err) => {
    throw err instanceof BlobNotFoundError ? new UploadMissing(key) : err
  })
  const scan = await scanLayout(source, { blobs: ctx.blobs, accountId: target.account_id, limits, signal: ctx.signal })
  // The object was replaced after it was verified: process-upload verifies the new bytes, and a retry reads them.
  if (scan.sha256 !== target.sha256) throw new Error(`${key} changed after it was verified`)
  ctx.log.debug({ artifact: target.id, stored: scan.stored, reused: scan.reused }, 'image blobs stored')
  return planImage(scan.layout, limits)
}

async function fail(ctx: Ctx, target: IngestTarget, reason: string): Promise<IngestResult> {
  const line = oneLine(reason)
  if (!(await failIngest(ctx.catalog.db, target, line))) return { status: 'skipped' }
  ctx.log.info({ artifact: target.id, reason: line }, 'image rejected')
  return { status: 'FAILED', reason: line }
}

/** oci-ingest: payload `{ artifactId }`. */
export function ociIngestHandler(
  limits: OciIngestLimits = DEFAULT_OCI_LIMITS,
  retryBaseMs = 2000,
): JobHandler<ArtifactJobPayload> {
  return {
    kind: JOB_KINDS.ociIngest,
    backoff: (attempt) => backoffDelay(attempt, retryBaseMs),
    async run(ctx, payload) {
      await ingestArtifact(ctx, payload.artifactId, limits)
      return undefined
    },
    async giveUp(ctx, payload, error) {
      const target = await findIngestTarget(ctx.catalog.db, payload.artifactId)
      if (target?.status === 'PROCESSING') await fail(ctx, target, `image ingestion failed: ${error}`)
    },
  }
}
