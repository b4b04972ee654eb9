import type { Kysely } from 'kysely'
import { referencedKeys } from '../catalog/blob-references.ts'
import type { Database } from '../catalog/types.ts'
import type { BlobStore } from './blob-store.ts'
import { parseArtifactKey } from './keys.ts'

export interface Garbage {
  key: string
  /** Size in bytes, or null when the object vanished meanwhile. */
  size: number | null
}

export interface GcResult {
  /** Objects looked at (every key under `artifacts/`). */
  scanned: number
  /** Objects no catalog row points at. */
  unreferenced: Garbage[]
  /** How many of them were deleted (0 on a dry run). */
  deleted: number
}

/**
 * collectGarbage finds stored objects under `artifacts/` that no artifact, manifest or descriptor row points at
 * (left behind by a failed delete, or by a crash between the catalog delete and the storage delete) and, unless
 * `dryRun`, deletes them. The store is listed before the catalog is read: a row always exists before its
 * object is uploaded, so an upload that starts meanwhile is never taken for garbage.
 */
export async function collectGarbage(
  db: Kysely<Database>,
  blobs: BlobStore,
  opts: { dryRun: boolean; onGarbage?: (g: Garbage) => void },
): Promise<GcResult> {
  const stored: string[] = []
  for await (const key of blobs.list('artifacts/')) stored.push(key)
  const releases = [...new Set(stored.map((k) => parseArtifactKey(k)?.releaseId).filter((r) => r !== undefined))]
  const referenced = await referencedKeys(db, releases)
  const result: GcResult = { scanned: stored.length, unreferenced: [], deleted: 0 }
  for (const key of stored) {
    if (referenced.has(key)) continue
    const size = await blobs.stat(key).then(
      (info) => info.size,
      () => null,
    )
    const garbage = { key, size }
    result.unreferenced.push(garbage)
    opts.onGarbage?.(garbage)
    if (!opts.dryRun) {
      await blobs.delete(key)
      result.deleted++
    }
  }
  return result
}
