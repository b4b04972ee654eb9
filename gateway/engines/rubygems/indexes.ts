import { gemIndex, renderNames, renderVersions, type VersionsLine } from '../../../formats/rubygems/compact-index.ts'
import { type SpecTuple, specsIndex } from '../../../formats/rubygems/marshal.ts'
import { gemPlatformString } from '../../../formats/rubygems/platform.ts'
import { compareGemVersions } from '../../../formats/rubygems/version.ts'
import type { GemFile } from './gems.ts'

/**
 * The RubyGems index files as pure functions of the gems a caller may see (in publication order): the compact
 * index (`versions`, `names`, `info/<gem>`) and the legacy Marshal indexes (`specs.4.8.gz`, `latest_specs.4.8.gz`,
 * `prerelease_specs.4.8.gz`). see: ../shared/spec/engines.md §2.4
 */

export type IndexKind = 'versions' | 'names' | 'specs' | 'latest_specs' | 'prerelease_specs' | `info/${string}`

export const TEXT = 'text/plain; charset=utf-8'
export const BINARY = 'application/octet-stream'

function byGem(files: readonly GemFile[]): Map<string, GemFile[]> {
  const out = new Map<string, GemFile[]>()
  for (const f of files) {
    const list = out.get(f.gem)
    if (list) list.push(f)
    else out.set(f.gem, [f])
  }
  return out
}

const indexed = (f: GemFile) => ({ info: f.info, sha256: f.row.sha256 })

function versionsFile(files: readonly GemFile[]): string {
  const lines: VersionsLine[] = []
  for (const [gem, list] of byGem(files)) {
    const { versionLines } = gemIndex(gem, list.map(indexed))
    for (const [i, f] of list.entries()) lines.push({ line: versionLines[i], publishedAt: f.row.created_at })
  }
  return renderVersions(lines)
}

const tupleOf = (f: GemFile): SpecTuple => ({
  name: f.info.name,
  version: f.info.version,
  platform: gemPlatformString(f.info.platform),
})

const compareTuples = (a: SpecTuple, b: SpecTuple) =>
  (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) ||
  compareGemVersions(a.version, b.version) ||
  (a.platform < b.platform ? -1 : a.platform > b.platform ? 1 : 0)

/** uniqueSorted sorts tuples by (name, version, platform) and drops duplicates (one gem file per tuple). */
function uniqueSorted(tuples: SpecTuple[]): SpecTuple[] {
  const sorted = tuples.sort(compareTuples)
  return sorted.filter((t, i) => i === 0 || compareTuples(sorted[i - 1], t) !== 0)
}

/** latestOnly keeps the highest version per (name, platform). */
function latestOnly(tuples: SpecTuple[]): SpecTuple[] {
  const best = new Map<string, SpecTuple>()
  for (const t of tuples) {
    const key = `${t.name}\u0000${t.platform}`
    const current = best.get(key)
    if (!current || compareGemVersions(t.version, current.version) > 0) best.set(key, t)
  }
  return uniqueSorted([...best.values()])
}

/** renderIndex renders one index file from the visible gems; null when `info/<gem>` has no visible version. */
export function renderIndex(
  kind: IndexKind,
  files: readonly GemFile[],
): { body: string | Buffer; type: string } | null {
  const stable = () => files.filter((f) => f.release.row.channel === 'stable').map(tupleOf)
  switch (kind) {
    case 'versions':
      return { body: versionsFile(files), type: TEXT }
    case 'names':
      return { body: renderNames([...byGem(files).keys()]), type: TEXT }
    case 'specs':
      return { body: specsIndex(uniqueSorted(stable())), type: BINARY }
    case 'latest_specs':
      return { body: specsIndex(latestOnly(stable())), type: BINARY }
    case 'prerelease_specs': {
      const pre = files.filter((f) => f.release.row.channel !== 'stable').map(tupleOf)
      return { body: specsIndex(uniqueSorted(pre)), type: BINARY }
    }
    default: {
      const gem = kind.slice('info/'.length)
      const list = files.filter((f) => f.gem === gem)
      return list.length ? { body: gemIndex(gem, list.map(indexed)).info, type: TEXT } : null
    }
  }
}
