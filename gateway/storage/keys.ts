/**
 * The object key layout, in one place:
 *
 *   artifacts/
 *     <account id>/
 *       <release id>/
 *         <artifact filename>          the uploaded file (filename may contain `/`)
 *   blobs/
 *     <account id>/
 *       <algorithm>/<hex>              OCI blobs (manifests, configs, layers) ingested from image tarballs,
 *                                      content-addressed: one object per digest per account, shared by every
 *                                      release holding it, so re-ingesting or re-releasing an image stores nothing
 *
 * Deleting a release removes its `artifacts/` prefix; an OCI blob no descriptor points at any more is unreachable
 * (the registry serves only digests with a descriptor the caller may see) and stays until a collector removes it.
 */

export function artifactKey(accountId: string, releaseId: string, filename: string): string {
  return `artifacts/${accountId}/${releaseId}/${filename}`
}

export function releasePrefix(accountId: string, releaseId: string): string {
  return `artifacts/${accountId}/${releaseId}/`
}

/** ociBlobKey is where an OCI blob (`sha256:<hex>` or `sha512:<hex>`, already validated) of an account lives. */
export function ociBlobKey(accountId: string, digest: string): string {
  const colon = digest.indexOf(':')
  return `blobs/${accountId}/${digest.slice(0, colon)}/${digest.slice(colon + 1)}`
}

/** parseArtifactKey recovers account, release and filename from a key written by {@link artifactKey}. */
export function parseArtifactKey(key: string): { accountId: string; releaseId: string; filename: string } | null {
  const m = /^artifacts\/([^/]+)\/([^/]+)\/(.+)$/.exec(key)
  return m ? { accountId: m[1], releaseId: m[2], filename: m[3] } : null
}
