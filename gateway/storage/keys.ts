/**
 * The object key layout, in one place:
 *
 *   artifacts/
 *     <account id>/
 *       <release id>/
 *         <artifact filename>          the served, verified file (filename may contain `/`)
 *   uploads/
 *     <account id>/
 *       <release id>/
 *         <artifact id>                what a client PUT (the one upload attempt of the artifact); never served
 *         <artifact id>.sealed         the worker's own copy of it, verified, then copied to the served key
 *   blobs/
 *     <account id>/
 *       <algorithm>/<hex>              OCI blobs (manifests, configs, layers) ingested from image tarballs,
 *                                      content-addressed: one object per digest per account, shared by every
 *                                      release holding it, so re-ingesting or re-releasing an image stores nothing
 *
 * Clients only ever write under `uploads/`: bytes reach `artifacts/` when the worker promotes a sealed upload it has
 * verified, so no reader sees unverified bytes under a served key. Deleting a release removes its `artifacts/` and
 * `uploads/` prefixes; an OCI blob no descriptor points at any more is unreachable
 * (the registry serves only digests with a descriptor the caller may see) and stays until a collector removes it.
 */

export function artifactKey(accountId: string, releaseId: string, filename: string): string {
  return `artifacts/${accountId}/${releaseId}/${filename}`
}

export function releasePrefix(accountId: string, releaseId: string): string {
  return `artifacts/${accountId}/${releaseId}/`
}

/** releasePrefixes lists every prefix a release's objects live under: served files and pending uploads. */
export function releasePrefixes(accountId: string, releaseId: string): string[] {
  return [releasePrefix(accountId, releaseId), `uploads/${accountId}/${releaseId}/`]
}

/** uploadKey is where a client PUTs the bytes of an artifact (its upload attempt). */
export function uploadKey(accountId: string, releaseId: string, artifactId: string): string {
  return `uploads/${accountId}/${releaseId}/${artifactId}`
}

/** sealedKey is the worker's private copy of an upload, which no upload URL names. */
export function sealedKey(upload: string): string {
  return `${upload}.sealed`
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
const UPLOAD_KEY = new RegExp(`^uploads/([^/]+)/([^/]+)/(${UUID})$`)

/** parseUploadKey recovers account, release and artifact from a key written by {@link uploadKey} (not a sealed one). */
export function parseUploadKey(key: string): { accountId: string; releaseId: string; artifactId: string } | null {
  const m = UPLOAD_KEY.exec(key)
  return m ? { accountId: m[1], releaseId: m[2], artifactId: m[3] } : null
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
