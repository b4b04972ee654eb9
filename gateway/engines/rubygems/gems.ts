import { MANIFEST_TYPES } from '../../../formats/manifest-types.ts'
import type { GemInfo } from '../../../formats/rubygems/gemspec.ts'
import { artifactInScope, isDownloadable, packageInScope, type PackageFacts } from '../../auth/policy.ts'
import type { Principal } from '../../auth/principal.ts'
import type { ArtifactRow } from '../../catalog/types.ts'
import type { AccountSnapshot, LoadedRelease } from '../../read-model/account-snapshot.ts'
import type { ReadModel } from '../../read-model/read-model.ts'

/** One `.gem` of a rubygems package with the compact-index facts the upload worker stored. */
export interface GemFile {
  row: ArtifactRow
  release: LoadedRelease
  /** The package key: the gem's name in the compact index. */
  gem: string
  packageFacts: PackageFacts
  info: GemInfo
}

const byPublication = (a: GemFile, b: GemFile) =>
  a.row.created_at < b.row.created_at
    ? -1
    : a.row.created_at > b.row.created_at
      ? 1
      : a.row.filename < b.row.filename
        ? -1
        : a.row.filename > b.row.filename
          ? 1
          : 0

/**
 * gemFiles lists the `.gem` artifacts of the account's rubygems packages that have compact-index facts, in
 * publication order (artifact creation, then filename), once per snapshot.
 */
export function gemFiles(model: ReadModel, snap: AccountSnapshot): Promise<GemFile[]> {
  return snap.memo('rubygems:files', async () => {
    const packages = new Map(snap.packages.filter((p) => p.engine === 'rubygems').map((p) => [p.id, p]))
    const candidates = snap.artifacts.filter((a) => {
      const release = a.filetype === 'gem' ? snap.releasesById.get(a.release_id) : undefined
      return release?.row.package_id != null && packages.has(release.row.package_id)
    })
    const manifests = await model.manifests(
      snap,
      'rubygems:info',
      candidates.map((a) => a.id),
      MANIFEST_TYPES.gemInfo,
    )
    const out: GemFile[] = []
    for (const row of candidates) {
      const release = snap.releasesById.get(row.release_id)!
      const pkg = packages.get(release.row.package_id!)!
      const text = manifests.get(row.id)?.at(-1)?.content
      if (text === undefined) continue
      let info: GemInfo
      try {
        info = JSON.parse(text) as GemInfo
      } catch {
        continue
      }
      const strategy = snap.productsById.get(pkg.product_id)?.distribution_strategy ?? 'CLOSED'
      out.push({ row, release, gem: pkg.key, packageFacts: { productId: pkg.product_id, strategy }, info })
    }
    return out.sort(byPublication)
  })
}

/**
 * visibleGems keeps the gems the principal may install: package in its scope, artifact in its scope, uploaded and
 * not yanked (yanked versions are left out of every index, as Keygen does).
 */
export function visibleGems(p: Principal, files: readonly GemFile[], now: number): GemFile[] {
  return files.filter(
    (f) =>
      packageInScope(p, f.packageFacts) &&
      isDownloadable(f.release.facts, f.row) &&
      artifactInScope(p, f.release.facts, f.row, now),
  )
}

/**
 * gemByFilename finds the `.gem` artifact with exactly that filename among those the principal may download (any
 * package or engine, as Keygen does; the oldest wins a clash). see: ../shared/spec/engines.md §2.4, §5 item 16
 */
export function gemByFilename(
  snap: AccountSnapshot,
  p: Principal,
  filename: string,
  now: number,
): { row: ArtifactRow; release: LoadedRelease } | undefined {
  for (const row of snap.artifactsByFilename.get(filename) ?? []) {
    const release = snap.releasesById.get(row.release_id)
    if (row.filetype !== 'gem' || !release) continue
    if (isDownloadable(release.facts, row) && artifactInScope(p, release.facts, row, now)) return { row, release }
  }
  return undefined
}
