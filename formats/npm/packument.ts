import semver from 'semver'

/**
 * The npm registry's package document (the "packument"): every version's package.json with a `dist` pointing at
 * the tarball, plus `dist-tags` and `time`. npm 11 asks for the full document (`Accept: application/json`) and also
 * accepts it where it asked for the abbreviated one.
 * see: https://github.com/npm/registry/blob/main/docs/REGISTRY-API.md#getpackage · ../shared/spec/engines.md §2.3
 */

/** One version of a packument. */
export interface PackumentVersion {
  /** The release version: the key under `versions`. */
  version: string
  /** The stored package.json, every field in its order. */
  manifest: Record<string, unknown>
  /** Absolute URL of the tarball (stable: lockfiles keep it). */
  tarball: string
  /** Hex SHA-1 of the tarball as the upload worker measured it (`shasum`), or null (verified before it did). */
  sha1: string | null
  /** Hex SHA-512 of the tarball as the upload worker measured it, or null. */
  sha512: string | null
  /** The vendor's checksum, used as `shasum` when no SHA-1 was measured and it is a hex SHA-1 (already verified). */
  checksum: string | null
  /** When the version was published (the artifact's creation), ISO 8601. */
  createdAt: string
}

export interface PackumentInput {
  name: string
  /** The package's creation, ISO 8601. */
  created: string
  /** The last change of any listed version, ISO 8601. */
  modified: string
  /** Newest first. */
  versions: readonly PackumentVersion[]
  distTags: Record<string, string>
}

/** A release's facts that decide dist-tags. */
export interface TaggedVersion {
  version: string
  tag: string | null
}

const iso = (t: string) => new Date(t).toISOString()

/** integrityOf is the Subresource Integrity string (`sha512-<base64>`) of a hex SHA-512. */
export function integrityOf(sha512Hex: string): string {
  return `sha512-${Buffer.from(sha512Hex, 'hex').toString('base64')}`
}

/** compareSemver orders valid semver by precedence and puts anything else first, by text. */
function compareSemver(a: string, b: string): number {
  const x = semver.valid(a, { loose: true })
  const y = semver.valid(b, { loose: true })
  if (x && y) return semver.compare(x, y, { loose: true })
  if (x || y) return x ? 1 : -1
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * distTagsOf: `latest` is the version of a release tagged `latest`, else the highest non-prerelease version, else
 * the highest version; every other release tag becomes a dist-tag of its version. `latest` comes first, then the
 * tags by version, highest first.
 */
export function distTagsOf(versions: readonly TaggedVersion[]): Record<string, string> {
  const byVersion = [...versions].sort((a, b) => compareSemver(b.version, a.version))
  const stable = byVersion.find((v) => semver.valid(v.version, { loose: true }) && !semver.prerelease(v.version))
  const latest = byVersion.find((v) => v.tag === 'latest') ?? stable ?? byVersion[0]
  // Maps, not objects: a tag or version is vendor text, and may be `__proto__`.
  const tags = new Map<string, string>()
  if (latest) tags.set('latest', latest.version)
  for (const v of byVersion) if (v.tag && !tags.has(v.tag)) tags.set(v.tag, v.version)
  return Object.fromEntries(tags)
}

/** versionDocument is a package.json with its `dist` (any `dist` the vendor wrote is replaced, and put last). */
function versionDocument(v: PackumentVersion): Record<string, unknown> {
  const { dist: _ignored, ...fields } = v.manifest
  const dist: Record<string, string> = { tarball: v.tarball }
  if (v.sha512 && /^[0-9a-f]{128}$/i.test(v.sha512)) dist.integrity = integrityOf(v.sha512)
  const sha1 = v.sha1 ?? v.checksum?.trim()
  if (sha1 && /^[0-9a-f]{40}$/i.test(sha1)) dist.shasum = sha1.toLowerCase()
  return { ...fields, dist }
}

/** renderPackument serializes the packument: `name`, `time`, `dist-tags`, `versions`, in that order. */
export function renderPackument(input: PackumentInput): string {
  const time = new Map([
    ['created', iso(input.created)],
    ['modified', iso(input.modified)],
  ])
  const versions = new Map<string, unknown>()
  for (const v of input.versions) {
    if (versions.has(v.version)) continue
    time.set(v.version, iso(v.createdAt))
    versions.set(v.version, versionDocument(v))
  }
  return JSON.stringify({
    name: input.name,
    time: Object.fromEntries(time),
    'dist-tags': input.distTags,
    versions: Object.fromEntries(versions),
  })
}
