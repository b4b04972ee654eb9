import type { Readable } from 'node:stream'
import { bundlePreference, canonicalArch, canonicalPlatform, isSignatureFile } from '../../../formats/tauri/updater.ts'
import { MAX_SIGNATURE_BYTES, tauriSignature } from '../../../formats/tauri/signature.ts'
import { artifactInScope, isDownloadable } from '../../auth/policy.ts'
import type { Principal } from '../../auth/principal.ts'
import type { ArtifactRow } from '../../catalog/types.ts'
import type { AccountSnapshot, LoadedRelease } from '../../read-model/account-snapshot.ts'
import { BlobNotFoundError, type BlobStore } from '../../storage/blob-store.ts'
import { artifactKey } from '../../storage/keys.ts'

/** The update bundle offered for a platform, with the updater's signature of it. */
export interface Bundle {
  row: ArtifactRow
  signature: string
}

/**
 * candidates lists the release's files the updater could install on `platform`/`arch`, best first: files the
 * caller may see and download, with a platform, an arch and a filetype, that are not signatures, on that platform
 * and arch (Tauri's `{{target}}`/`{{arch}}` or another spelling of the same, e.g. `amd64` for `x86_64`); ordered
 * by {@link bundlePreference}, then exact key spelling, then newest. see: ../shared/spec/engines.md §2.6 step 7
 */
export function candidates(
  snap: AccountSnapshot,
  principal: Principal,
  now: number,
  release: LoadedRelease,
  platform: string,
  arch: string,
): ArtifactRow[] {
  const wantedPlatform = canonicalPlatform(platform)
  const wantedArch = canonicalArch(arch)
  const exact = (a: ArtifactRow) => Number(a.platform === platform && a.arch === arch)
  return (snap.artifactsByRelease.get(release.row.id) ?? [])
    .filter(
      (a) =>
        a.platform !== null &&
        a.arch !== null &&
        a.filetype !== null &&
        !isSignatureFile(a.filename, a.filetype) &&
        canonicalPlatform(a.platform) === wantedPlatform &&
        canonicalArch(a.arch) === wantedArch &&
        artifactInScope(principal, release.facts, a, now) &&
        isDownloadable(release.facts, a),
    )
    .sort(
      (a, b) =>
        bundlePreference(a.filename, b.filename) ||
        exact(b) - exact(a) ||
        (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : a.id < b.id ? 1 : -1),
    )
}

/**
 * pickBundle returns the best candidate that has a signature the updater can verify (it refuses an update
 * without one): the artifact's `signature` attribute, else the bytes of the verified sibling `<filename>.sig`
 * of the same release. Candidates without either are skipped, each told to `unsigned`; none left → null (204).
 */
export async function pickBundle(
  blobs: BlobStore,
  snap: AccountSnapshot,
  principal: Principal,
  now: number,
  release: LoadedRelease,
  platform: string,
  arch: string,
  unsigned: (row: ArtifactRow) => void,
): Promise<Bundle | null> {
  for (const row of candidates(snap, principal, now, release, platform, arch)) {
    const signature = tauriSignature(row.signature) ?? (await sidecarSignature(blobs, snap, row))
    if (signature) return { row, signature }
    unsigned(row)
  }
  return null
}

/** sidecarSignature reads `<filename>.sig` of the artifact's release once per snapshot (its bytes are final). */
function sidecarSignature(blobs: BlobStore, snap: AccountSnapshot, row: ArtifactRow): Promise<string | null> | null {
  const name = `${row.filename}.sig`
  const sig = snap.artifactsByRelease.get(row.release_id)?.find((a) => a.filename === name && a.status === 'UPLOADED')
  const size = sig?.content_length ?? sig?.filesize ?? null
  if (!sig || size === 0 || (size !== null && size > MAX_SIGNATURE_BYTES)) return null
  return snap.memo(`tauri:sig:${sig.id}`, async () =>
    tauriSignature(await readSmall(blobs, artifactKey(sig.account_id, sig.release_id, sig.filename))),
  )
}

/** readSmall reads an object of at most MAX_SIGNATURE_BYTES as UTF-8; a missing or a larger one is null. */
async function readSmall(blobs: BlobStore, key: string): Promise<string | null> {
  let stream: Readable
  try {
    stream = await blobs.read(key)
  } catch (err) {
    if (err instanceof BlobNotFoundError) return null
    throw err
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer)
    size += (chunk as Buffer).length
    if (size > MAX_SIGNATURE_BYTES) {
      stream.destroy()
      return null
    }
  }
  return Buffer.concat(chunks).toString('utf8')
}
