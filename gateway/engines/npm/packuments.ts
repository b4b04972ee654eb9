import { MANIFEST_TYPES } from '../../../formats/manifest-types.ts'
import { readPackageJson } from '../../../formats/npm/package-json.ts'
import { distTagsOf, renderPackument } from '../../../formats/npm/packument.ts'
import { artifactInScope, isDownloadable, packageInScope, type PackageFacts } from '../../auth/policy.ts'
import { ANONYMOUS, type Principal } from '../../auth/principal.ts'
import { isUuid } from '../../catalog/accounts.ts'
import type { ArtifactRow } from '../../catalog/types.ts'
import { compareVersions } from '../../catalog/versions.ts'
import { cacheKey, IndexCache } from '../../cache/index-cache.ts'
import type { AccountSnapshot, LoadedRelease } from '../../read-model/account-snapshot.ts'
import { artifactDownloadPath } from '../../read-model/links.ts'
import type { ReadModel } from '../../read-model/read-model.ts'
import { visibilityClass } from '../../read-model/visibility.ts'
import { type RenderedBody, renderedBody } from '../rendered.ts'

/** A package whose engine is npm. */
export interface NpmPackage {
  id: string
  key: string
  createdAt: string
  facts: PackageFacts
}

/** One tarball of a package: an artifact with its release and the package.json the upload worker stored. */
export interface Tarball {
  row: ArtifactRow
  release: LoadedRelease
  manifest: Record<string, unknown>
}

/** Tarball file types, as Keygen lists them. see: ../shared/spec/engines.md §2.3 */
const TARBALL_TYPES: ReadonlySet<string | null> = new Set(['tgz', 'tar', 'tar.gz'])

/** npmPackages lists the account's npm packages, oldest first. */
export function npmPackages(snap: AccountSnapshot): NpmPackage[] {
  return snap.memo('npm:packages', () =>
    snap.packages
      .filter((p) => p.engine === 'npm')
      .map((p) => ({
        id: p.id,
        key: p.key,
        createdAt: p.created_at,
        facts: {
          productId: p.product_id,
          strategy: snap.productsById.get(p.product_id)?.distribution_strategy ?? 'CLOSED',
        },
      })),
  )
}

/** findNpmPackage resolves a package name (its key) or UUID among the account's npm packages. */
export function findNpmPackage(snap: AccountSnapshot, name: string): NpmPackage | undefined {
  const packages = npmPackages(snap)
  return (isUuid(name) && packages.find((p) => p.id === name.toLowerCase())) || packages.find((p) => p.key === name)
}

/**
 * tarballs lists a package's tarballs that have a readable package.json, highest version first (then newest
 * artifact), once per snapshot; the manifests are read on first use.
 */
export function tarballs(model: ReadModel, snap: AccountSnapshot, pkg: NpmPackage): Promise<Tarball[]> {
  return snap.memo(`npm:tarballs:${pkg.id}`, async () => {
    const candidates = snap.releases
      .filter((r) => r.row.package_id === pkg.id)
      .flatMap((release) =>
        (snap.artifactsByRelease.get(release.row.id) ?? [])
          .filter((row) => TARBALL_TYPES.has(row.filetype))
          .map((row) => ({ row, release })),
      )
    const ids = candidates.map((c) => c.row.id)
    const manifests = await model.manifests(snap, `npm:${pkg.id}`, ids, MANIFEST_TYPES.npmPackage)
    const out: Tarball[] = []
    for (const { row, release } of candidates) {
      // A reprocessed tarball may have several manifests (oldest first): the newest one is the bytes' own.
      const text = manifests.get(row.id)?.at(-1)?.content
      const read = text === undefined ? null : readPackageJson(text)
      if (read?.ok) out.push({ row, release, manifest: read.value.fields })
    }
    return out.sort(
      (a, b) =>
        compareVersions(b.release.row.version, a.release.row.version) ||
        (a.row.created_at < b.row.created_at ? 1 : a.row.created_at > b.row.created_at ? -1 : 0),
    )
  })
}

/** visibleTarballs keeps what the principal may download: in its scope, uploaded, release not yanked. */
function visibleTarballs(p: Principal, all: readonly Tarball[], now: number): Tarball[] {
  return all.filter((t) => isDownloadable(t.release.facts, t.row) && artifactInScope(p, t.release.facts, t.row, now))
}

const sameRows = (a: readonly Tarball[], b: readonly Tarball[]) =>
  a.length === b.length && a.every((t, i) => t.row.id === b[i].row.id)

/** What a packument request knows once authenticated. */
export interface PackumentContext {
  snap: AccountSnapshot
  principal: Principal
  /** Absolute base of tarball URLs (`publicUrl`, or an allowed Host): npm needs absolute URLs. */
  base: string
  now: number
}

const JSON_TYPE = 'application/json; charset=utf-8'

/** What a package shows a visibility class: its packument and its dist-tags (`npm dist-tag ls`). */
interface PackumentViews {
  page: RenderedBody | null
  tags: RenderedBody | null
}

/**
 * Packuments renders each package document once per content revision, visibility class and base URL, and keeps
 * the bytes (bounded by size): a warm request, even for a 2 MB packument, serializes nothing.
 */
export class Packuments {
  readonly #cache = new IndexCache<PackumentViews>({
    max: 5000,
    maxSize: 256 * 1024 * 1024,
    sizeOf: (v) => 256 + (v.page?.body.length ?? 0) + (v.tags?.body.length ?? 0),
  })

  constructor(readonly model: ReadModel) {}

  /** get renders the package's documents as the principal sees them; both are null when it sees no version. */
  get(ctx: PackumentContext, pkg: NpmPackage): Promise<PackumentViews> | PackumentViews {
    const cls = visibilityClass(ctx.principal, ctx.now)
    const key = cacheKey('npm', ctx.snap.accountId, ctx.snap.serial, cls, pkg.id, ctx.base)
    return (
      this.#cache.get(key) ??
      this.#cache.getOrLoad(key, async () => {
        const all = await tarballs(this.model, ctx.snap, pkg)
        const visible = visibleTarballs(ctx.principal, all, ctx.now)
        if (visible.length === 0) return { page: null, tags: null }
        const isPublic =
          packageInScope(ANONYMOUS, pkg.facts) && sameRows(visible, visibleTarballs(ANONYMOUS, all, ctx.now))
        const modified = visible.map((t) => t.row.updated_at).sort()[visible.length - 1]
        const distTags = distTagsOf(visible.map((t) => ({ version: t.release.row.version, tag: t.release.row.tag })))
        const body = renderPackument({
          name: pkg.key,
          created: pkg.createdAt,
          modified,
          distTags,
          versions: visible.map((t) => ({
            version: t.release.row.version,
            manifest: t.manifest,
            tarball: `${ctx.base}${artifactDownloadPath(t.row)}`,
            sha1: t.row.sha1 ?? null,
            sha512: t.row.sha512,
            checksum: t.row.checksum,
            createdAt: t.row.created_at,
          })),
        })
        return {
          page: renderedBody(body, JSON_TYPE, isPublic),
          tags: renderedBody(JSON.stringify(distTags), JSON_TYPE, isPublic),
        }
      })
    )
  }
}
