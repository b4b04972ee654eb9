import { type BlobInfo, BlobNotFoundError } from '../../gateway/storage/blob-store.ts'
import { artifactKey, sealedKey } from '../../gateway/storage/keys.ts'
import type { JobContext } from '../runner.ts'
import { UploadMissing } from './errors.ts'

/**
 * Write-once artifacts (see gateway/storage/keys.ts): a client writes only the artifact's upload key, possibly more
 * than once while a presigned URL lives. The worker first seals the upload (moves it to a key no URL names), verifies
 * the sealed copy, and only then copies it to the served key. The served key therefore only ever holds verified
 * bytes, and what was verified is exactly what is served.
 */

type Ctx = Pick<JobContext, 'blobs' | 'log'> & { signal?: AbortSignal }

export interface UploadRef {
  account_id: string
  release_id: string
  filename: string
  /** Null for artifacts whose bytes are at the served key already (promoted, or uploaded before attempts existed). */
  upload_key: string | null
}

/** Where the bytes to verify are, and whether they still have to be promoted to `served` once verified. */
export interface UploadSource {
  key: string
  served: string
  promote: boolean
}

async function exists(ctx: Ctx, key: string): Promise<boolean> {
  try {
    await ctx.blobs.stat(key)
    return true
  } catch (err) {
    if (err instanceof BlobNotFoundError) return false
    throw err
  }
}

/** uploadArrived tells wait-for-upload whether there is anything to verify yet. */
export async function uploadArrived(ctx: Ctx, a: UploadRef): Promise<boolean> {
  if (a.upload_key === null) return exists(ctx, artifactKey(a.account_id, a.release_id, a.filename))
  return (await exists(ctx, sealedKey(a.upload_key))) || exists(ctx, a.upload_key)
}

/**
 * locateUpload returns the bytes to verify: the sealed copy of the upload (sealing it first when needed), or the
 * served key for artifacts already promoted. Throws {@link UploadMissing} when nothing was uploaded.
 */
export async function locateUpload(ctx: Ctx, a: UploadRef): Promise<UploadSource> {
  const served = artifactKey(a.account_id, a.release_id, a.filename)
  if (a.upload_key === null) return { key: served, served, promote: false }
  const sealed = sealedKey(a.upload_key)
  // Once sealed, later PUTs to the upload key change nothing: the sealed copy is what gets verified and served.
  if (await exists(ctx, sealed)) return { key: sealed, served, promote: true }
  try {
    await ctx.blobs.move(a.upload_key, sealed, { signal: ctx.signal })
  } catch (err) {
    if (!(err instanceof BlobNotFoundError)) throw err
    // Another run may have sealed it in the meantime.
    if (!(await exists(ctx, sealed))) throw new UploadMissing(a.upload_key)
  }
  return { key: sealed, served, promote: true }
}

/** promote copies verified sealed bytes to the served key, and checks that the copy has the verified size. */
export async function promote(ctx: Ctx, source: UploadSource, size: number): Promise<BlobInfo> {
  const info = await ctx.blobs.copy(source.key, source.served, { signal: ctx.signal })
  if (info.size !== size) throw new Error(`promoting ${source.key} gave ${info.size} bytes instead of ${size}`)
  return info
}

/** discardUpload removes what is left of a promoted upload (best effort: leftovers are never served). */
export async function discardUpload(ctx: Ctx, upload: string): Promise<void> {
  for (const key of [sealedKey(upload), upload]) {
    await ctx.blobs.delete(key).catch((err) => ctx.log.warn({ err, key }, 'upload leftover not deleted'))
  }
}
