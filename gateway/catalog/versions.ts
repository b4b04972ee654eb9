import semver from 'semver'
import type { Channel } from './types.ts'

export interface ParsedVersion {
  /** Normalized version string, build metadata included. */
  version: string
  major: number
  minor: number
  patch: number
  prerelease: string | null
  build: string | null
}

/**
 * parseVersion accepts strict semver only: no `v` prefix, no partial versions, as Keygen's validator does.
 * see: ../shared/spec/management-api.md §1.4
 */
export function parseVersion(input: string): ParsedVersion | null {
  if (typeof input !== 'string' || input.length > 255 || !/^\d/.test(input)) return null
  const parsed = semver.parse(input)
  if (!parsed) return null
  const prerelease = parsed.prerelease.length ? parsed.prerelease.join('.') : null
  const build = parsed.build.length ? parsed.build.join('.') : null
  return {
    version: parsed.version + (build ? `+${build}` : ''),
    major: parsed.major,
    minor: parsed.minor,
    patch: parsed.patch,
    prerelease,
    build,
  }
}

/** channelMismatch explains why a version cannot be in a channel, or returns null when it fits. */
export function channelMismatch(channel: Channel, v: ParsedVersion): string | null {
  const base = `${v.major}.${v.minor}.${v.patch}`
  if (channel === 'stable') {
    return v.prerelease ? `version does not match stable channel (expected ${base} got ${v.version})` : null
  }
  return v.prerelease?.startsWith(channel)
    ? null
    : `version does not match prerelease channel (expected ${base}-${channel}.n got ${v.version})`
}

/** Channels a channel filter includes: cumulative towards stable, except dev which is alone. */
export function channelsFor(channel: Channel): Channel[] {
  switch (channel) {
    case 'stable':
      return ['stable']
    case 'rc':
      return ['stable', 'rc']
    case 'beta':
      return ['stable', 'rc', 'beta']
    case 'alpha':
      return ['stable', 'rc', 'beta', 'alpha']
    case 'dev':
      return ['dev']
  }
}

/**
 * compareVersions orders by semver precedence, then by build metadata (none below any; identifiers compared like
 * prerelease ones, numbers numerically: `+build.2` < `+build.10`), so "latest" and "upgrade" are well defined.
 */
export function compareVersions(a: string, b: string): number {
  return semver.compareBuild(a, b)
}
