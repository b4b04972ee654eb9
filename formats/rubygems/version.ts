/**
 * RubyGems versions (`Gem::Version`): what a gemspec's version means and how two of them compare.
 * see: https://github.com/rubygems/rubygems/blob/master/lib/rubygems/version.rb
 */

const VERSION = /^[0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/

/** canonicalGemVersion is the version as `Gem::Version` stores it: trimmed, each `-` turned into `.pre.`. */
export function canonicalGemVersion(version: string): string {
  return version.trim().replace(/-/g, '.pre.')
}

/**
 * gemSegments compares like `Gem::Version`: `-` becomes `.pre.`, the string is split into numeric and alphabetic
 * segments, and trailing zeros of the release part and of the prerelease part are dropped (so 1.0 == 1.0.0 and
 * 1.0.0-beta.1 == 1.0.0.pre.beta.1). Null when the string is no valid gem version.
 */
export function gemSegments(version: string): (number | string)[] | null {
  const s = version.trim()
  if (!VERSION.test(s)) return null
  const segs = (canonicalGemVersion(s).match(/[0-9]+|[a-z]+/gi) ?? []).map((x) => (/^\d+$/.test(x) ? Number(x) : x))
  const split = segs.findIndex((x) => typeof x === 'string')
  const numeric = split < 0 ? segs : segs.slice(0, split)
  const alpha = split < 0 ? [] : segs.slice(split)
  const trim = (a: (number | string)[]) => {
    while (a.length > 0 && a[a.length - 1] === 0) a.pop()
    return a
  }
  return [...trim(numeric), ...trim(alpha)]
}

/** gemVersionsEqual: both are valid gem versions and `Gem::Version#==` holds. */
export function gemVersionsEqual(a: string, b: string): boolean {
  const x = gemSegments(a)
  const y = gemSegments(b)
  return x !== null && y !== null && x.length === y.length && x.every((s, i) => s === y[i])
}

/**
 * gemMatchesRelease: a gem of this version may be a file of a release of that (semver) version. RubyGems reads a
 * semver prerelease `1.0.0-beta.1` as `1.0.0.pre.beta.1`, while gems are usually versioned `1.0.0.beta1` or
 * `1.0.0.rc.1`, which no semver string reads as under that rule; so the release's prerelease separator may also
 * stand for a plain segment separator (`1.0.0-rc.1` for a `1.0.0.rc.1` or `1.0.0.rc1` gem). Build metadata
 * (`+…`) is no part of a gem version and never matches.
 */
export function gemMatchesRelease(gemVersion: string, releaseVersion: string): boolean {
  if (gemVersionsEqual(gemVersion, releaseVersion)) return true
  const dash = releaseVersion.indexOf('-')
  if (dash < 0) return false
  const dotted = `${releaseVersion.slice(0, dash)}.${releaseVersion.slice(dash + 1)}`
  return gemVersionsEqual(gemVersion, dotted)
}

/**
 * compareGemVersions orders like `Gem::Version#<=>`: segment by segment, a missing segment counting as 0, a
 * string segment (prerelease) lower than any number; invalid versions sort first, by text.
 */
export function compareGemVersions(a: string, b: string): number {
  const x = gemSegments(a)
  const y = gemSegments(b)
  if (x === null || y === null) return x === y ? (a < b ? -1 : a > b ? 1 : 0) : x === null ? -1 : 1
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const l = x[i] ?? 0
    const r = y[i] ?? 0
    if (l === r) continue
    if (typeof l === 'string' && typeof r === 'number') return -1
    if (typeof l === 'number' && typeof r === 'string') return 1
    return l < r ? -1 : 1
  }
  return 0
}
