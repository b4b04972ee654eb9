import type { Executor } from '../../../gateway/catalog/accounts.ts'
import type { AccountRow, ArtifactRow, ReleaseRow } from '../../../gateway/catalog/types.ts'
import type { BlobStore } from '../../../gateway/storage/blob-store.ts'
import { artifactKey } from '../../../gateway/storage/keys.ts'
import { seedArtifact } from '../../helpers/seed.ts'
import { fakeSignature } from './updater-schema.ts'

/** The updater's check request headers (v2 plugin): JSON wanted, its own User-Agent. */
export const UPDATER_HEADERS = { accept: 'application/json', 'user-agent': 'tauri-plugin-updater/2.9.0' }

export interface BundleSpec {
  filename: string
  platform: string
  arch: string
  /** The `signature` attribute: a Tauri signature by default; null for none. */
  signature?: string | null
  /** Also upload `<filename>.sig` holding this text (stored in the blob store, UPLOADED). */
  sigFile?: string
  createdAt?: string
  filetype?: string | null
  status?: ArtifactRow['status']
}

const seconds = (i: number) => new Date(Date.parse('2024-03-01T00:00:00.000Z') + i * 1000).toISOString()
let tick = 0

/**
 * seedBundles adds update files to a release, in order (each one second newer than the last), with their
 * signatures: an attribute and/or a sibling `.sig` artifact whose bytes are written to the blob store.
 */
export async function seedBundles(
  db: Executor,
  blobs: BlobStore,
  account: Pick<AccountRow, 'id'>,
  release: ReleaseRow,
  specs: BundleSpec[],
): Promise<Record<string, ArtifactRow>> {
  const out: Record<string, ArtifactRow> = {}
  for (const spec of specs) {
    out[spec.filename] = await seedArtifact(db, account, {
      release,
      filename: spec.filename,
      filetype: spec.filetype === undefined ? spec.filename.split('.').pop()!.toLowerCase() : spec.filetype,
      platform: spec.platform,
      arch: spec.arch,
      signature: spec.signature === undefined ? fakeSignature(spec.filename) : spec.signature,
      status: spec.status ?? 'UPLOADED',
      createdAt: spec.createdAt ?? seconds(tick++),
    })
    if (spec.sigFile !== undefined) {
      const name = `${spec.filename}.sig`
      const bytes = Buffer.from(spec.sigFile)
      await blobs.write(artifactKey(account.id, release.id, name), bytes)
      out[name] = await seedArtifact(db, account, {
        release,
        filename: name,
        filetype: 'sig',
        platform: spec.platform,
        arch: spec.arch,
        filesize: bytes.length,
        createdAt: seconds(tick++),
      })
    }
  }
  return out
}
