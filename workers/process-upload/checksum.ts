import { timingSafeEqual } from 'node:crypto'

/**
 * Checksum parsing. The keygen CLI sends only the resulting string (no algorithm, no encoding): SHA-512 (default),
 * SHA-256 or SHA-1, encoded as hex, padded base64, unpadded base64 (`base64raw`, the default) or base64url.
 * Other tools send md5, sha224 or sha384, SRI strings (`sha512-<base64>`) or prefixed ones (`sha256:<hex>`).
 * The algorithm is inferred from the decoded length; a string may have two readings (64 hex characters are
 * also valid base64 of 48 bytes), so parsing yields every plausible candidate and a match on any of them counts.
 */

export type DigestAlgorithm = 'md5' | 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512'
export type ChecksumEncoding = 'hex' | 'base64' | 'base64raw' | 'base64url' | 'base64urlraw'

export interface ChecksumCandidate {
  algorithm: DigestAlgorithm
  encoding: ChecksumEncoding
  digest: Buffer
}

const byLength: Record<number, DigestAlgorithm> = {
  16: 'md5',
  20: 'sha1',
  28: 'sha224',
  32: 'sha256',
  48: 'sha384',
  64: 'sha512',
}

const algorithmNames: Record<string, DigestAlgorithm> = {
  md5: 'md5',
  sha1: 'sha1',
  'sha-1': 'sha1',
  sha224: 'sha224',
  'sha-224': 'sha224',
  sha256: 'sha256',
  'sha-256': 'sha256',
  sha384: 'sha384',
  'sha-384': 'sha384',
  sha512: 'sha512',
  'sha-512': 'sha512',
}

function decodeBase64(text: string): { digest: Buffer; encoding: ChecksumEncoding } | null {
  const padded = text.endsWith('=')
  const body = text.replace(/={1,2}$/, '')
  if (padded && text.length % 4 !== 0) return null
  const url = /[-_]/.test(body)
  const std = /[+/]/.test(body)
  if (url && std) return null
  if (!/^[A-Za-z0-9+/_-]+$/.test(body) || body.length % 4 === 1) return null
  const digest = Buffer.from(body, url ? 'base64url' : 'base64')
  // Reject non-canonical strings (stray trailing bits), so a checksum has exactly one meaning.
  if (digest.toString('base64url').replace(/=+$/, '') !== body.replace(/\+/g, '-').replace(/\//g, '_')) return null
  const encoding: ChecksumEncoding = url ? (padded ? 'base64url' : 'base64urlraw') : padded ? 'base64' : 'base64raw'
  return { digest, encoding }
}

/**
 * parseChecksum returns every reading of a checksum string, hex first. An empty list means the string is not a
 * recognisable digest (the caller fails the artifact).
 */
export function parseChecksum(raw: string): ChecksumCandidate[] {
  let text = raw.trim()
  let declared: DigestAlgorithm | undefined
  const prefixed = /^(md5|sha-?1|sha-?224|sha-?256|sha-?384|sha-?512)[-:=](.+)$/i.exec(text)
  if (prefixed) {
    declared = algorithmNames[prefixed[1].toLowerCase()]
    text = prefixed[2]
  }
  const out: ChecksumCandidate[] = []
  const hex = /^(?:0x)?([0-9a-fA-F]+)$/.exec(text)
  if (hex && hex[1].length % 2 === 0) {
    const digest = Buffer.from(hex[1], 'hex')
    const algorithm = byLength[digest.length]
    if (algorithm) out.push({ algorithm, encoding: 'hex', digest })
  }
  const b64 = decodeBase64(text)
  if (b64) {
    const algorithm = byLength[b64.digest.length]
    if (algorithm) out.push({ algorithm, encoding: b64.encoding, digest: b64.digest })
  }
  return declared ? out.filter((c) => c.algorithm === declared) : out
}

/** algorithmsOf lists the digests a set of candidates needs computed. */
export function algorithmsOf(candidates: readonly ChecksumCandidate[]): DigestAlgorithm[] {
  return [...new Set(candidates.map((c) => c.algorithm))]
}

/** matchChecksum tells whether any candidate equals the computed digest of its algorithm. */
export function matchChecksum(
  candidates: readonly ChecksumCandidate[],
  digests: Partial<Record<DigestAlgorithm, Buffer>>,
): ChecksumCandidate | undefined {
  return candidates.find((c) => {
    const actual = digests[c.algorithm]
    return actual !== undefined && actual.length === c.digest.length && timingSafeEqual(actual, c.digest)
  })
}

export const UNRECOGNISED_CHECKSUM =
  'unrecognised checksum: expected a SHA-512, SHA-256 or SHA-1 digest (or md5, sha224, sha384) in hex, base64 or base64url'
