/**
 * etagMatches implements `If-None-Match` with weak comparison (RFC 9110 §13.1.2), `*` included: the answer is a
 * 304 when any listed tag equals the current one, ignoring `W/` on either side.
 */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false
  if (header === etag) return true
  const opaque = etag.replace(/^W\//, '')
  return header.split(',').some((t) => {
    const v = t.trim()
    return v === '*' || v.replace(/^W\//, '') === opaque
  })
}
