/**
 * OCI and Docker media types, as image layouts, registries and clients name them, and the order a registry
 * prefers them in when a reference (tag) could name several manifests.
 * see: https://github.com/opencontainers/image-spec/blob/main/media-types.md · ../shared/spec/engines.md §2.5
 */
export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  ociLayoutHeader: 'application/vnd.oci.layout.header.v1+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
} as const

/** Indexes: their `manifests[]` point at other manifests (platforms, attestations). */
export const INDEX_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifestList])

/** Image manifests: a config and `layers[]`. */
export const IMAGE_MANIFEST_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest])

/**
 * MANIFEST_PREFERENCE is the order a registry picks among manifests a tag names and the client accepts: OCI index >
 * Docker manifest list > OCI manifest > Docker manifest (client q-values do not reorder it; engines.md §2.5).
 */
export const MANIFEST_PREFERENCE: readonly string[] = [
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.dockerManifestList,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.dockerManifest,
]

/** isServableManifest: the media types a registry serves from `/manifests/` (indexes and image manifests). */
export const isServableManifest = (mediaType: string): boolean =>
  INDEX_TYPES.has(mediaType) || IMAGE_MANIFEST_TYPES.has(mediaType)

/** Annotations buildx puts on the index entry of an attestation manifest (provenance, SBOM). */
export const ATTESTATION = {
  typeKey: 'vnd.docker.reference.type',
  typeValue: 'attestation-manifest',
  digestKey: 'vnd.docker.reference.digest',
} as const

/** Layers a registry never serves (Windows base layers): absent from image tarballs by design. */
export function isNonDistributable(mediaType: string): boolean {
  return mediaType.includes('nondistributable') || mediaType.includes('foreign')
}
