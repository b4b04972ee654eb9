import type { Readable } from 'node:stream'
import { announceCommit, bumpRevision } from '../../gateway/catalog/accounts.ts'
import { type ArtifactInfo, loadArtifact, replaceManifests, updateArtifactIf } from '../../gateway/catalog/artifacts.ts'
import type { Revisions } from '../../gateway/catalog/revision-feed.ts'
import { now } from '../../gateway/catalog/db.ts'
import { type BlobInfo, BlobNotFoundError } from '../../gateway/storage/blob-store.ts'
import { type ArtifactJobPayload, enqueueOciIngest, JOB_KINDS } from '../kinds.ts'
import { backoffDelay } from '../../gateway/catalog/jobs.ts'
import type { JobContext, JobHandler } from '../runner.ts'
import { algorithmsOf, matchChecksum, parseChecksum, UNRECOGNISED_CHECKSUM } from './checksum.ts'
import { oneLine, RejectedUpload, UPLOAD_MISSING, UploadMissing } from './errors.ts'
import { gemManifests, gemProbe } from './gem.ts'
import { DEFAULT_LIMITS, type UploadLimits } from './limits.ts'
import { type ManifestDraft, manifestFields } from './manifest.ts'
import { npmManifest, npmProbe } from './npm.ts'
import { discardUpload, locateUpload, promote, uploadArrived } from './promote.ts'
import { type ScanResult, scanObject } from './scan.ts'
import type { TarProbe } from './tar.ts'
import { readWheelMetadata, wheelManifest } from './wheel.ts'
import { recordVerifiedBytes } from '../../gateway/metrics.ts'

/**
 * Upload processing: process-upload verifies an uploaded artifact (size, checksum) and extracts its manifests;
 * wait-for-upload polls storage for presigned uploads and then does the same. The artifact goes
 * WAITING → PROCESSING → UPLOADED, or FAILED with a one-line `status_reason`. Both handlers only act on WAITING or
 * PROCESSING artifacts and write their result in one transaction guarded by that status, so running a job twice
 * (or both kinds for one artifact) changes nothing the second time. They verify a sealed copy of the upload and
 * promote it to the served key before recording UPLOADED (promote.ts), so only verified bytes are ever served.
 */

export const UPLOAD_NEVER_ARRIVED = 'upload never arrived'

export interface WaitTiming {
  /** Poll interval during the first fastPeriodMs after the artifact was created. */
  fastIntervalMs: number
  fastPeriodMs: number
  /** Poll interval afterwards. */
  slowIntervalMs: number
  /** The artifact fails when its upload has not arrived this long after its creation. */
  timeoutMs: number
}

export const DEFAULT_WAIT: Readonly<WaitTiming> = Object.freeze({
  fastIntervalMs: 2000,
  fastPeriodMs: 60_000,
  slowIntervalMs: 30_000,
  timeoutMs: 3_600_000,
})

export interface UploadProcessingOptions {
  limits: UploadLimits
  wait: WaitTiming
  /** First retry delay of a failed process-upload attempt (doubling each time). */
  retryBaseMs: number
}

export const DEFAULT_PROCESSING: Readonly<UploadProcessingOptions> = Object.freeze({
  limits: DEFAULT_LIMITS,
  wait: DEFAULT_WAIT,
  retryBaseMs: 2000,
})

type Ctx = Pick<JobContext, 'catalog' | 'blobs' | 'log'> & { signal?: AbortSignal }

export type ProcessingKind = 'npm' | 'gem' | 'wheel' | 'oci' | 'none'

/**
 * processingKind picks what to extract: by filetype (or, without one, the filename's extension) and engine.
 * An OCI image is an artifact of filetype `tar` (or without filetype, a `*.tar` filename) in a package whose engine
 * is `oci`: an image layout tarball as `docker save`, `buildx build -o type=oci` or `skopeo copy … oci-archive:`
 * write it. Other artifacts of an oci package (signatures, SBOMs) are stored as they are, not ingested.
 */
export function processingKind(a: Pick<ArtifactInfo, 'filetype' | 'filename' | 'package_engine'>): ProcessingKind {
  const ext = /\.([^./]+)$/.exec(a.filename)?.[1]
  const type = (a.filetype?.trim().replace(/^\./, '') || ext || '').toLowerCase()
  if (type === 'tgz' && a.package_engine === 'npm') return 'npm'
  if (type === 'gem' && a.package_engine === 'rubygems') return 'gem'
  if (type === 'whl') return 'wheel'
  if (type === 'tar' && a.package_engine === 'oci') return 'oci'
  return 'none'
}

/**
 * How processing ends: UPLOADED (with manifests), FAILED, or VERIFIED: the bytes are right, the artifact stays
 * PROCESSING and another job (oci-ingest) takes over.
 */
type Final =
  | { status: 'UPLOADED' | 'VERIFIED'; scan: ScanResult; drafts: ManifestDraft[] }
  | { status: 'FAILED'; reason: string }

export interface ProcessResult {
  /**
   * The artifact's status after the run; `skipped` when it was not WAITING/PROCESSING (nothing done); `VERIFIED`
   * when it is an OCI image tarball, handed to oci-ingest (it stays PROCESSING).
   */
  status: 'UPLOADED' | 'VERIFIED' | 'FAILED' | 'skipped'
  reason?: string
}

/**
 * finish records the outcome in one transaction: artifact status, measured digests, manifests (replacing any
 * earlier ones), the oci-ingest job of a VERIFIED image, and the account revision. Guarded by status
 * WAITING/PROCESSING; false when the guard failed.
 */
async function finish(ctx: Ctx, a: ArtifactInfo, result: Final): Promise<boolean> {
  const ts = now()
  let revisions: Revisions | undefined
  const done = await ctx.catalog.db.transaction().execute(async (trx) => {
    const update =
      result.status !== 'FAILED'
        ? {
            status: result.status === 'VERIFIED' ? ('PROCESSING' as const) : ('UPLOADED' as const),
            status_reason: null,
            // Verified bytes are at the served key from now on (see promote.ts).
            upload_key: null,
            content_length: result.scan.size,
            sha1: result.scan.digests.sha1!.toString('hex'),
            sha256: result.scan.digests.sha256!.toString('hex'),
            sha512: result.scan.digests.sha512!.toString('hex'),
          }
        : {
            status: 'FAILED' as const,
            status_reason: oneLine(result.reason),
            content_length: null,
            sha1: null,
            sha256: null,
            sha512: null,
          }
    if (!(await updateArtifactIf(trx, a.id, ['WAITING', 'PROCESSING'], { ...update, updated_at: ts }))) return false
    await replaceManifests(trx, a, result.status === 'UPLOADED' ? result.drafts.map(manifestFields) : [], ts)
    if (result.status === 'VERIFIED') await enqueueOciIngest(trx, a)
    revisions = await bumpRevision(trx, a.account_id, 'content')
    return true
  })
  if (revisions) announceCommit(ctx.catalog.db, a.account_id, revisions)
  return done
}

/** failArtifact marks a WAITING or PROCESSING artifact FAILED with reason (no-op otherwise). */
export async function failArtifact(ctx: Ctx, artifactId: string, reason: string): Promise<boolean> {
  const a = await loadArtifact(ctx.catalog.db, artifactId)
  if (!a) return false
  const done = await finish(ctx, a, { status: 'FAILED', reason })
  if (done) ctx.log.info({ artifact: artifactId, reason }, 'artifact failed')
  return done
}

async function markProcessing(ctx: Ctx, a: ArtifactInfo): Promise<void> {
  if (a.status !== 'WAITING') return
  const revisions = await ctx.catalog.db.transaction().execute(async (trx) => {
    const marked = await updateArtifactIf(trx, a.id, ['WAITING'], {
      status: 'PROCESSING',
      status_reason: null,
      updated_at: now(),
    })
    return marked ? bumpRevision(trx, a.account_id, 'content') : undefined
  })
  if (revisions) announceCommit(ctx.catalog.db, a.account_id, revisions)
}

/**
 * verify compares the measured size and digests with what the artifact declared. The order of the checks fixes
 * which reason a broken upload gets: size first (a truncated upload says so), then checksum.
 */
function verify(a: ArtifactInfo, scan: ScanResult): string | undefined {
  if (a.filesize !== null && scan.size !== a.filesize) {
    return `size mismatch: declared ${a.filesize} bytes, the upload has ${scan.size} bytes`
  }
  const declared = a.checksum?.trim()
  if (!declared) return undefined
  const candidates = parseChecksum(declared)
  if (candidates.length === 0) return UNRECOGNISED_CHECKSUM
  if (matchChecksum(candidates, scan.digests)) return undefined
  const c = candidates[0]
  return `checksum mismatch: the declared ${c.algorithm} (${c.encoding}) does not match the upload, whose ${c.algorithm} is ${scan.digests[c.algorithm]?.toString('hex')}`
}

async function statObject(ctx: Ctx, key: string): Promise<BlobInfo> {
  try {
    return await ctx.blobs.stat(key)
  } catch (err) {
    if (err instanceof BlobNotFoundError) throw new UploadMissing(key)
    throw err
  }
}

async function openObject(ctx: Ctx, key: string): Promise<Readable> {
  try {
    return await ctx.blobs.read(key, { signal: ctx.signal })
  } catch (err) {
    if (err instanceof BlobNotFoundError) throw new UploadMissing(key)
    throw err
  }
}

/**
 * processArtifact verifies and inspects one artifact. Content problems end in FAILED (returned, not thrown);
 * a missing object throws {@link UploadMissing} and storage or database errors throw as they are, so the job retries.
 */
export async function processArtifact(
  ctx: Ctx,
  artifactId: string,
  limits: UploadLimits = DEFAULT_LIMITS,
): Promise<ProcessResult> {
  const a = await loadArtifact(ctx.catalog.db, artifactId)
  if (!a || (a.status !== 'WAITING' && a.status !== 'PROCESSING')) return { status: 'skipped' }
  const located = await locateUpload(ctx, a)
  const key = located.key
  const before = await statObject(ctx, key)
  const source = await openObject(ctx, key)
  let probe: TarProbe | undefined
  let final: Final
  try {
    await markProcessing(ctx, a)
    const candidates = a.checksum?.trim() ? parseChecksum(a.checksum) : []
    // Nothing could ever match an unreadable checksum: fail before streaming the whole object.
    if (a.checksum?.trim() && candidates.length === 0) throw new RejectedUpload(UNRECOGNISED_CHECKSUM)
    const kind = processingKind(a)
    probe = kind === 'npm' ? npmProbe(limits) : kind === 'gem' ? gemProbe(limits) : undefined
    const scan = await scanObject(source, { algorithms: algorithmsOf(candidates), limits, probe, signal: ctx.signal })
    const mismatch = verify(a, scan)
    if (mismatch) throw new RejectedUpload(mismatch)
    const expected = { packageKey: a.package_key ?? '', releaseVersion: a.release_version }
    const drafts: ManifestDraft[] = []
    if (kind === 'npm' && probe) drafts.push(npmManifest(await probe.result, expected))
    if (kind === 'gem' && probe) drafts.push(...(await gemManifests(await probe.result, expected, limits)))
    if (kind === 'wheel') {
      const meta = await readWheelMetadata(ctx.blobs, key, scan.size, a.filename, limits, ctx.signal)
      drafts.push(wheelManifest(meta, { filename: a.filename, packageKey: a.package_key, engine: a.package_engine }))
    }
    // An OCI image layout tarball is only verified here: oci-ingest (enqueued by finish) reads the image and
    // moves the artifact to UPLOADED or FAILED.
    final = { status: kind === 'oci' ? 'VERIFIED' : 'UPLOADED', scan, drafts }
  } catch (err) {
    if (!(err instanceof RejectedUpload)) throw err
    final = { status: 'FAILED', reason: err.reason }
  } finally {
    source.destroy()
    probe?.abort()
  }
  // A second upload may have replaced the object while this one was read: never record the old bytes' verdict
  // for the new bytes. The retry verifies what is stored now.
  const after = await statObject(ctx, key)
  if (after.etag !== before.etag || after.size !== before.size) {
    throw new Error(`${key} changed while it was being verified`)
  }
  // Verified bytes (an OCI image tarball too: oci-ingest reads them there) move to the served key first.
  if (final.status !== 'FAILED' && located.promote) await promote(ctx, located, final.scan.size)
  const written = await finish(ctx, a, final)
  if (!written) return { status: 'skipped' }
  if (final.status !== 'FAILED' && located.promote && a.upload_key) await discardUpload(ctx, a.upload_key)
  if (final.status === 'FAILED') {
    ctx.log.info({ artifact: a.id, reason: final.reason }, 'artifact failed')
    return { status: 'FAILED', reason: oneLine(final.reason) }
  }
  recordVerifiedBytes(final.scan.size)
  if (final.status === 'VERIFIED') {
    ctx.log.info({ artifact: a.id, size: final.scan.size }, 'image tarball verified; ingestion queued')
    return { status: 'VERIFIED' }
  }
  ctx.log.info({ artifact: a.id, size: final.scan.size, manifests: final.drafts.length }, 'artifact uploaded')
  return { status: 'UPLOADED' }
}

function giveUpReason(error: string): string {
  return error.startsWith(UPLOAD_MISSING) ? UPLOAD_NEVER_ARRIVED : `processing failed: ${error}`
}

/** process-upload: payload `{ artifactId }`. */
export function processUploadHandler(
  opts: UploadProcessingOptions = DEFAULT_PROCESSING,
): JobHandler<ArtifactJobPayload> {
  return {
    kind: JOB_KINDS.processUpload,
    backoff: (attempt) => backoffDelay(attempt, opts.retryBaseMs),
    async run(ctx, payload) {
      await processArtifact(ctx, payload.artifactId, opts.limits)
      return undefined
    },
    async giveUp(ctx, payload, error) {
      await failArtifact(ctx, payload.artifactId, giveUpReason(error))
    },
  }
}

/**
 * wait-for-upload: payload `{ artifactId }`. Stats the object; when it is there, processes it like process-upload.
 * While it is absent and the artifact is WAITING, the job reschedules itself (every 2 s for the first minute after
 * the artifact's creation, then every 30 s) until one hour after creation, when the artifact fails with
 * "upload never arrived".
 */
export function waitForUploadHandler(
  opts: UploadProcessingOptions = DEFAULT_PROCESSING,
): JobHandler<ArtifactJobPayload> {
  return {
    kind: JOB_KINDS.waitForUpload,
    backoff: (attempt) => backoffDelay(attempt, opts.retryBaseMs),
    async run(ctx, payload) {
      const a = await loadArtifact(ctx.catalog.db, payload.artifactId)
      if (a?.status !== 'WAITING') return undefined
      if (await uploadArrived(ctx, a)) {
        await processArtifact(ctx, a.id, opts.limits)
        return undefined
      }
      const created = Date.parse(a.created_at)
      const deadline = created + opts.wait.timeoutMs
      const at = Date.now()
      if (at >= deadline) {
        await failArtifact(ctx, a.id, UPLOAD_NEVER_ARRIVED)
        return undefined
      }
      const interval = at - created < opts.wait.fastPeriodMs ? opts.wait.fastIntervalMs : opts.wait.slowIntervalMs
      return { rescheduleAt: new Date(Math.min(at + interval, deadline)) }
    },
    async giveUp(ctx, payload, error) {
      await failArtifact(ctx, payload.artifactId, giveUpReason(error))
    },
  }
}

export { DEFAULT_LIMITS, type UploadLimits } from './limits.ts'
export { MANIFEST_TYPES } from './manifest.ts'
