import { formatBytes } from '../process-upload/limits.ts'

/**
 * Limits of OCI image ingestion. Each is enforced while streaming, so a hostile tarball fails its artifact with a
 * one-line reason instead of exhausting memory, disk or time. Memory is bounded by the manifests kept until the
 * walk (each at most {@link OciIngestLimits.maxManifestBytes}, together at most maxManifestsBytes), never by the
 * size of a layer: layers stream from the tarball into the blob store.
 */
export interface OciIngestLimits {
  /** Largest tarball ingested (the API caps `filesize` at 5 GiB). */
  maxTarballBytes: number
  /** Most tar entries (files and directories). */
  maxEntries: number
  /** Largest manifest or index (and `index.json`, `oci-layout`) held in memory and stored in the catalog. */
  maxManifestBytes: number
  /** Sum of the manifests kept in memory until the end of the tarball. */
  maxManifestsBytes: number
  /** Largest blob (layer, config). */
  maxBlobBytes: number
}

export const DEFAULT_OCI_LIMITS: Readonly<OciIngestLimits> = Object.freeze({
  maxTarballBytes: 5 * 1024 ** 3,
  maxEntries: 10_000,
  maxManifestBytes: 4 * 1024 ** 2,
  maxManifestsBytes: 32 * 1024 ** 2,
  maxBlobBytes: 5 * 1024 ** 3,
})

/** The one-line reasons, one per limit, as stored in `artifacts.status_reason`. */
export const ociLimitReasons = {
  tarball: (l: OciIngestLimits) => `the image tarball is larger than the ${formatBytes(l.maxTarballBytes)} limit`,
  entries: (l: OciIngestLimits) => `the image tarball has more than ${l.maxEntries} entries`,
  manifest: (what: string, l: OciIngestLimits) => `${what} is larger than the ${formatBytes(l.maxManifestBytes)} limit`,
  manifests: (l: OciIngestLimits) =>
    `the image's manifests together are larger than the ${formatBytes(l.maxManifestsBytes)} limit`,
  blob: (path: string, l: OciIngestLimits) => `${path} is larger than the ${formatBytes(l.maxBlobBytes)} limit`,
}

export function resolveOciLimits(overrides?: Partial<OciIngestLimits>): OciIngestLimits {
  return { ...DEFAULT_OCI_LIMITS, ...overrides }
}
