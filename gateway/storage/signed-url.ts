import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * Gateway-signed blob URLs, used when the store cannot presign (filesystem). The signature is
 * HMAC-SHA256(secret, "METHOD\nkey\nexpires\nfilename") in base64url, so a URL grants exactly one method on one key
 * until it expires. A GET signature also allows HEAD, as a presigned GET would for a browser.
 */

export const BLOB_ROUTE = 'v1/blobs/'

export type SignedMethod = 'GET' | 'PUT'

function sign(secret: string, method: SignedMethod, key: string, expires: number, filename = ''): string {
  return createHmac('sha256', secret).update(`${method}\n${key}\n${expires}\n${filename}`).digest('base64url')
}

/** encodeKeyPath escapes each key segment for use in a URL path. */
export function encodeKeyPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/')
}

export function signedBlobUrl(
  secret: string,
  baseUrl: string,
  method: SignedMethod,
  key: string,
  ttlSeconds: number,
  filename?: string,
): string {
  const expires = Math.floor(Date.now() / 1000) + ttlSeconds
  const params = new URLSearchParams({
    method,
    expires: String(expires),
    sig: sign(secret, method, key, expires, filename),
  })
  if (filename) params.set('filename', filename)
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`
  return `${base}${BLOB_ROUTE}${encodeKeyPath(key)}?${params}`
}

export type SignatureCheck = 'ok' | 'expired' | 'invalid'

/**
 * verifySignedBlob checks a signature in constant time against each accepted secret (several while a rotated key
 * is still accepted); requestMethod HEAD is accepted for GET signatures.
 */
export function verifySignedBlob(
  secrets: string | readonly string[],
  requestMethod: string,
  key: string,
  query: { method?: unknown; expires?: unknown; sig?: unknown; filename?: unknown },
): SignatureCheck {
  const { method, expires, sig, filename } = query
  if (typeof method !== 'string' || typeof expires !== 'string' || typeof sig !== 'string') return 'invalid'
  if (method !== 'GET' && method !== 'PUT') return 'invalid'
  const allowed = method === 'GET' ? ['GET', 'HEAD'] : ['PUT']
  if (!allowed.includes(requestMethod)) return 'invalid'
  if (!/^\d{1,12}$/.test(expires)) return 'invalid'
  if (filename !== undefined && typeof filename !== 'string') return 'invalid'
  const given = Buffer.from(sig)
  const matches = (secret: string) => {
    const expected = Buffer.from(sign(secret, method, key, Number(expires), filename))
    return given.length === expected.length && timingSafeEqual(given, expected)
  }
  if (!(typeof secrets === 'string' ? [secrets] : secrets).some(matches)) return 'invalid'
  if (Number(expires) < Math.floor(Date.now() / 1000)) return 'expired'
  return 'ok'
}
