import { compareVersions } from '../../catalog/versions.ts'
import { parseCoreMetadata } from '../../../formats/python/core-metadata.ts'
import type { FileRow } from './projects.ts'

/** One file of a project page, ready to render as HTML or JSON. */
export interface ProjectFile {
  filename: string
  /** Absolute URL; its `.metadata` sibling serves the core metadata (PEP 658). */
  url: string
  /** Worker-verified hex sha256, or null (no `#sha256=` fragment, empty `hashes`). */
  sha256: string | null
  requiresPython: string | null
  size: number | null
  uploadTime: string
  /** Hex sha256 of the served METADATA file, or null when there is none. */
  coreMetadataSha256: string | null
  yanked: boolean
  /** The Python version this file belongs to (PEP 700 `versions`). */
  version: string
}

/** What both representations of a project page render. */
export interface ProjectView {
  /** Normalized project name. */
  name: string
  files: ProjectFile[]
  versions: string[]
}

const SHA256_HEX = /^[0-9a-f]{64}$/

/**
 * filenameVersion reads the version out of a wheel (`name-1.0-py3-none-any.whl`) or sdist
 * (`name-1.0.tar.gz`) filename, or returns null for anything else.
 */
export function filenameVersion(filename: string): string | null {
  const base = filename.slice(filename.lastIndexOf('/') + 1)
  if (base.endsWith('.whl')) {
    const parts = base.slice(0, -4).split('-')
    return parts.length === 5 || parts.length === 6 ? parts[1] : null
  }
  const m = /^(.+)-(\d[^-]*)\.(tar\.gz|zip|tar\.bz2|tar\.xz|tgz)$/.exec(base)
  return m ? m[2] : null
}

/** vendorRequiresPython reads a `requiresPython` the vendor declared in the artifact's metadata, if any. */
function vendorRequiresPython(metadata: string): string | null {
  try {
    const parsed = JSON.parse(metadata) as Record<string, unknown>
    const value = parsed.requiresPython ?? parsed.requires_python
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : null
  } catch {
    return null
  }
}

function toFile(row: FileRow, url: string): ProjectFile {
  const core = row.coreMetadata === null ? null : parseCoreMetadata(row.coreMetadata)
  const sha256 = row.sha256?.toLowerCase() ?? null
  return {
    filename: row.filename,
    url,
    sha256: sha256 && SHA256_HEX.test(sha256) ? sha256 : null,
    requiresPython: core?.requiresPython ?? vendorRequiresPython(row.metadata),
    size: row.size,
    uploadTime: new Date(row.artifactCreatedAt).toISOString(),
    coreMetadataSha256: core?.sha256 ?? null,
    yanked: row.releaseStatus === 'YANKED' || row.artifactStatus === 'YANKED',
    version: core?.version ?? filenameVersion(row.filename) ?? row.version,
  }
}

/** compareReleaseVersions is semver order, falling back to text order for a version semver cannot parse. */
function compareReleaseVersions(a: string, b: string): number {
  try {
    return compareVersions(a, b)
  } catch {
    return a < b ? -1 : a > b ? 1 : 0
  }
}

/** byNewest orders files by release version descending, then newest artifact first, then filename. */
export function byNewest(a: FileRow, b: FileRow): number {
  return (
    compareReleaseVersions(b.version, a.version) ||
    (a.artifactCreatedAt < b.artifactCreatedAt ? 1 : a.artifactCreatedAt > b.artifactCreatedAt ? -1 : 0) ||
    (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0)
  )
}

/** buildProjectView turns the visible rows of a project into its page model, newest version first. */
export function buildProjectView(name: string, rows: readonly FileRow[], urlOf: (row: FileRow) => string): ProjectView {
  const files = [...rows].sort(byNewest).map((row) => toFile(row, urlOf(row)))
  return { name, files, versions: [...new Set(files.map((f) => f.version))] }
}
