/**
 * The object key layout, in one place:
 *
 *   artifacts/
 *     <account id>/
 *       <release id>/
 *         <artifact filename>          the uploaded file (filename may contain `/`)
 *         blobs/sha256/<hex>           OCI blobs ingested from an image tarball (descriptors' content_path)
 */

export function artifactKey(accountId: string, releaseId: string, filename: string): string {
  return `artifacts/${accountId}/${releaseId}/${filename}`
}

export function releasePrefix(accountId: string, releaseId: string): string {
  return `artifacts/${accountId}/${releaseId}/`
}

/** parseArtifactKey recovers account, release and filename from a key written by {@link artifactKey}. */
export function parseArtifactKey(key: string): { accountId: string; releaseId: string; filename: string } | null {
  const m = /^artifacts\/([^/]+)\/([^/]+)\/(.+)$/.exec(key)
  return m ? { accountId: m[1], releaseId: m[2], filename: m[3] } : null
}
