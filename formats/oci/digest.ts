/**
 * Grammar of digests, tags and repository names, as the distribution spec writes them.
 * see: https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests
 */

/** The digest algorithms an image layout may use, with the length of their hex encoding. */
const HEX_LENGTH: Readonly<Record<string, number>> = { sha256: 64, sha512: 128 }

export interface Digest {
  algorithm: 'sha256' | 'sha512'
  hex: string
}

/** parseDigest reads `sha256:<64 hex>` or `sha512:<128 hex>` (lower-case hex); anything else is null. */
export function parseDigest(value: string): Digest | null {
  const colon = value.indexOf(':')
  if (colon === -1) return null
  const algorithm = value.slice(0, colon)
  const hex = value.slice(colon + 1)
  const length = HEX_LENGTH[algorithm]
  if (length === undefined || hex.length !== length || !/^[0-9a-f]+$/.test(hex)) return null
  return { algorithm: algorithm as Digest['algorithm'], hex }
}

/** looksLikeDigest: the value has the shape of a digest (`<algorithm>:<encoded>`), supported or not. */
export const looksLikeDigest = (value: string): boolean => value.includes(':')

const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/

/** isTag: a tag as the distribution spec allows it (`[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`). */
export const isTag = (value: string): boolean => TAG.test(value)

const NAME_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/

/** isRepositoryName: `/`-separated lower-case components, as the distribution spec allows them (≤ 255 chars). */
export function isRepositoryName(value: string): boolean {
  return value.length > 0 && value.length <= 255 && value.split('/').every((c) => NAME_COMPONENT.test(c))
}
