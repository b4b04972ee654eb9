import type { ArtifactRow } from '../catalog/types.ts'

/**
 * Paths of the gateway's own routes that the API and the engines link to, relative to the gateway's link base
 * (no leading slash; see `linkBase` in gateway/plugins/services.ts).
 */

/** encodePath escapes each `/`-separated segment of a filename for a URL path. */
export const encodePath = (filename: string): string => filename.split('/').map(encodeURIComponent).join('/')

/** artifactDownloadPath is the "vanity" download route the engines hand to package managers. */
export const artifactDownloadPath = (row: Pick<ArtifactRow, 'account_id' | 'id' | 'filename'>): string =>
  `v1/accounts/${row.account_id}/artifacts/${row.id}/${encodePath(row.filename)}`

/** queryOf is a URL's query string with its `?`, or ''; engines keep it on hops to the gateway's own routes. */
export function queryOf(url: string): string {
  const q = url.indexOf('?')
  return q === -1 ? '' : url.slice(q)
}
