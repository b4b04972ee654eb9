import { MANIFEST_TYPES } from '../../../formats/manifest-types.ts'
import { type ParsedManifest, parseLayoutIndex, parseManifest } from '../../../formats/oci/manifest.ts'
import { ATTESTATION, isServableManifest } from '../../../formats/oci/media-types.ts'
import type { ArtifactRow, ManifestRow, PackageRow } from '../../catalog/types.ts'
import type { AccountSnapshot, LoadedRelease } from '../../read-model/account-snapshot.ts'
import type { ReadModel } from '../../read-model/read-model.ts'

/**
 * The registry's view of one package: its ingested images (one per image tarball artifact) with every manifest
 * ready to send (exact bytes as a Buffer, ETag), indexed by tag, version and digest. Built once per snapshot from the
 * read model's manifests (`readModel.manifests`), so a warm manifest GET reads nothing from the catalog. Access is
 * not decided here: the view holds every image, whatever its status; select.ts filters per caller.
 */

/** A manifest as the registry sends it. */
export interface ServedManifest {
  digest: string
  mediaType: string
  body: Buffer
  /** Strong ETag: the quoted digest, as distribution sends it. */
  etag: string
  parsed: ParsedManifest | null
}

/** One image tarball of a release. */
export interface OciImage {
  artifact: ArtifactRow
  release: LoadedRelease
  /** The manifests `index.json` names (what the release's tag and version pull), in its order. */
  roots: ServedManifest[]
  manifests: ReadonlyMap<string, ServedManifest>
  /** Annotations of the index entries pointing at each child manifest (buildx marks attestations there). */
  entryAnnotations: ReadonlyMap<string, Readonly<Record<string, string>>>
}

/** An image and one of its manifests. */
export interface ImageManifest {
  image: OciImage
  manifest: ServedManifest
}

export interface OciRepository {
  /** Oldest release first. */
  images: readonly OciImage[]
  byTag: ReadonlyMap<string, OciImage[]>
  byVersion: ReadonlyMap<string, OciImage[]>
  byDigest: ReadonlyMap<string, ImageManifest[]>
}

/** isAttestation: buildx's provenance/SBOM manifest, marked on its index entry. */
export function isAttestation(image: OciImage, digest: string): boolean {
  return image.entryAnnotations.get(digest)?.[ATTESTATION.typeKey] === ATTESTATION.typeValue
}

/** ociRepository returns the package's registry view at this snapshot (memoized on it). */
export function ociRepository(model: ReadModel, snap: AccountSnapshot, pkg: PackageRow): Promise<OciRepository> {
  return snap.memo(`oci:repository:${pkg.id}`, async () => {
    const releases = snap.releases.filter((r) => r.row.package_id === pkg.id)
    const artifacts = releases.flatMap((release) =>
      (snap.artifactsByRelease.get(release.row.id) ?? []).map((artifact) => ({ artifact, release })),
    )
    const rows = await model.manifests(
      snap,
      `oci:${pkg.id}`,
      artifacts.map((a) => a.artifact.id),
    )
    const images: OciImage[] = []
    for (const { artifact, release } of artifacts) {
      const image = buildImage(artifact, release, rows.get(artifact.id) ?? [])
      if (image) images.push(image)
    }
    return indexImages(images)
  })
}

function buildImage(artifact: ArtifactRow, release: LoadedRelease, rows: readonly ManifestRow[]): OciImage | null {
  const layout = rows.find((r) => r.content_type === MANIFEST_TYPES.ociLayoutIndex)
  if (!layout) return null
  const manifests = new Map<string, ServedManifest>()
  const entryAnnotations = new Map<string, Readonly<Record<string, string>>>()
  for (const row of rows) {
    if (!isServableManifest(row.content_type) || row.content_digest === null) continue
    let parsed: ParsedManifest | null = null
    try {
      parsed = parseManifest(row.content, row.content_type, row.content_digest)
    } catch {
      // Verified at ingest; a row that does not parse is still served, only without referrer metadata.
    }
    if (parsed?.kind === 'index') for (const d of parsed.manifests) entryAnnotations.set(d.digest, d.annotations)
    manifests.set(row.content_digest, {
      digest: row.content_digest,
      mediaType: row.content_type,
      body: Buffer.from(row.content, 'utf8'),
      etag: `"${row.content_digest}"`,
      parsed,
    })
  }
  let roots: ServedManifest[] = []
  try {
    roots = parseLayoutIndex(layout.content)
      .manifests.map((d) => manifests.get(d.digest))
      .filter((m): m is ServedManifest => m !== undefined)
  } catch {
    return null
  }
  return { artifact, release, roots, manifests, entryAnnotations }
}

function indexImages(images: OciImage[]): OciRepository {
  const byTag = new Map<string, OciImage[]>()
  const byVersion = new Map<string, OciImage[]>()
  const byDigest = new Map<string, ImageManifest[]>()
  const add = <K, V>(map: Map<K, V[]>, key: K, value: V) => {
    const list = map.get(key)
    if (list) list.push(value)
    else map.set(key, [value])
  }
  for (const image of images) {
    if (image.release.row.tag !== null) add(byTag, image.release.row.tag, image)
    add(byVersion, image.release.row.version, image)
    for (const manifest of image.manifests.values()) add(byDigest, manifest.digest, { image, manifest })
  }
  return { images, byTag, byVersion, byDigest }
}
