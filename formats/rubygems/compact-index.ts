import { createHash } from 'node:crypto'
import type { GemInfo } from './gemspec.ts'
import { gemPlatformString } from './platform.ts'

/**
 * The compact index (`versions`, `info/<gem>`, `names`) that Bundler and RubyGems read. Files are append-only in
 * publication order, as on rubygems.org: a new version adds one line to `info/<gem>` and one to `versions`, so
 * Bundler's `Range: bytes=<size-1>-` request gets just the new lines (206) and its local copy stays valid.
 * see: https://guides.rubygems.org/rubygems-org-compact-index-api/ · ../shared/spec/engines.md §2.4
 */

/** One published gem file, oldest first within a gem. */
export interface IndexedGem {
  info: GemInfo
  /** Hex SHA-256 of the `.gem`, measured by the upload worker; null leaves `checksum:` empty. */
  sha256: string | null
}

const ANY = '>= 0'

/** versionToken is `<version>` for pure Ruby gems, `<version>-<platform>` otherwise (`1.1.0-java`). */
export function versionToken(info: Pick<GemInfo, 'version' | 'platform'>): string {
  const platform = gemPlatformString(info.platform)
  return platform === 'ruby' ? info.version : `${info.version}-${platform}`
}

/** requirementText joins requirement parts with `&`, sorted (`< 2&>= 1.0`). */
const requirementText = (parts: readonly string[]) => [...parts].sort().join('&')

const isAny = (parts: readonly string[]) => parts.length === 0 || (parts.length === 1 && parts[0] === ANY)

/**
 * infoLine is one line of `info/<gem>`: `<version> <dep>:<req>,…|checksum:<sha256>[,ruby:<req>][,rubygems:<req>]`.
 * Only runtime dependencies are listed, as rubygems.org does: Bundler would otherwise try to install a gem's
 * development dependencies.
 */
export function infoLine(gem: IndexedGem): string {
  const deps = gem.info.dependencies
    .filter((d) => d.runtime)
    .map((d) => `${d.name}:${requirementText(d.requirements)}`)
    .join(',')
  let line = `${versionToken(gem.info)} ${deps}|checksum:${gem.sha256 ?? ''}`
  if (!isAny(gem.info.required_ruby_version)) line += `,ruby:${requirementText(gem.info.required_ruby_version)}`
  if (!isAny(gem.info.required_rubygems_version)) {
    line += `,rubygems:${requirementText(gem.info.required_rubygems_version)}`
  }
  return line
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex')

/** A gem's index: its `info` body and, for every version, the MD5 of the body as it was once that line was added. */
export interface GemIndex {
  name: string
  info: string
  /** versionLines[i] is the `versions` line added when the i-th version was published. */
  versionLines: string[]
}

/** gemIndex renders `info/<name>` from the gem's files, oldest first. */
export function gemIndex(name: string, gems: readonly IndexedGem[]): GemIndex {
  let info = '---\n'
  const versionLines: string[] = []
  for (const gem of gems) {
    info += `${infoLine(gem)}\n`
    versionLines.push(`${name} ${versionToken(gem.info)} ${md5(info)}`)
  }
  return { name, info, versionLines }
}

/** A `versions` line with the instant its version was published, for ordering. */
export interface VersionsLine {
  line: string
  publishedAt: string
}

/**
 * renderVersions is the `versions` file: a `created_at` header (the oldest publication, so it stays put), `---`,
 * then one line per published version in publication order.
 */
export function renderVersions(lines: readonly VersionsLine[]): string {
  const ordered = [...lines].sort((a, b) =>
    a.publishedAt < b.publishedAt ? -1 : a.publishedAt > b.publishedAt ? 1 : 0,
  )
  const created = ordered.length ? new Date(ordered[0].publishedAt) : new Date(0)
  const header = `created_at: ${created.toISOString().replace(/\.\d{3}Z$/, 'Z')}\n---\n`
  return header + ordered.map((l) => `${l.line}\n`).join('')
}

/** renderNames is the `names` file: `---` then every gem name, sorted. */
export function renderNames(names: readonly string[]): string {
  return `---\n${[...names]
    .sort()
    .map((n) => `${n}\n`)
    .join('')}`
}
