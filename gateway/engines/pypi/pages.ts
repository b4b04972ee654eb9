import type { FastifyBaseLogger } from 'fastify'
import { packageInScope } from '../../auth/policy.ts'
import { ANONYMOUS, type Principal } from '../../auth/principal.ts'
import type { Executor } from '../../catalog/accounts.ts'
import type { AccountRow } from '../../catalog/types.ts'
import { cacheKey, IndexCache } from '../../cache/index-cache.ts'
import { CONTENT_TYPES, type Representation } from './negotiate.ts'
import { isUuid } from '../../catalog/accounts.ts'
import { normalizeProjectName } from './normalize.ts'
import { buildProjectView } from './project.ts'
import { type FileRow, listFileRows, listPypiPackages, packageOfArtifact, type PypiPackage } from './queries.ts'
import { type IndexEntry, renderIndexHtml, renderProjectHtml } from './render-html.ts'
import { renderIndexJson, renderProjectJson } from './render-json.ts'
import { type RenderedPage, renderedPage } from './respond.ts'
import { visibilityClass, visibleFiles } from './visibility.ts'

/** What every page request knows once authenticated: who asks, for which account, at which catalog revision. */
export interface PageContext {
  account: AccountRow
  revision: number
  principal: Principal
  /** Absolute gateway base URL ending in '/', as links must be built for this request. */
  baseUrl: string
  now: number
  log?: FastifyBaseLogger
}

/** fileUrl is a file's link: under the engine, so that `<url>.metadata` is served here too (PEP 658). */
export function fileUrl(ctx: Pick<PageContext, 'account' | 'baseUrl'>, artifactId: string, filename: string): string {
  const path = filename.split('/').map(encodeURIComponent).join('/')
  return `${ctx.baseUrl}v1/accounts/${ctx.account.id}/engines/pypi/files/${artifactId}/${path}`
}

/** projectUrl is a project page's canonical link: the normalized name with a trailing slash (PEP 503). */
export function projectUrl(ctx: Pick<PageContext, 'account' | 'baseUrl'>, pkg: PypiPackage): string {
  return `${ctx.baseUrl}v1/accounts/${ctx.account.id}/engines/pypi/simple/${pkg.normalized}/`
}

/** findProject resolves a requested name (any spelling) or package UUID among the account's pypi packages. */
export function findProject(packages: readonly PypiPackage[], requested: string): PypiPackage | undefined {
  if (isUuid(requested)) {
    const byId = packages.find((p) => p.id === requested.toLowerCase())
    if (byId) return byId
  }
  const wanted = normalizeProjectName(requested)
  return packages.find((p) => p.normalized === wanted)
}

const rowsSize = (rows: FileRow[]) =>
  rows.reduce((n, r) => n + 512 + r.filename.length + r.metadata.length + (r.coreMetadata?.length ?? 0), 64)

/**
 * PypiPages reads and renders the simple index and project pages through three caches, all keyed by account
 * and catalog revision so that any write shows on the next request:
 * - packages: `account · revision` → the account's pypi packages (shared by every caller);
 * - rows: `account · revision · package` → the package's files with releases, constraints and METADATA;
 * - pages: `account · revision · visibility class · project · representation · base URL` → rendered body + ETag.
 */
export class PypiPages {
  readonly #packages = new IndexCache<PypiPackage[]>({
    name: 'pypi-packages',
    max: 500,
    sizeOf: (p) => 256 * p.length + 64,
  })
  readonly #rows = new IndexCache<FileRow[]>({
    name: 'pypi-files',
    max: 2000,
    maxSize: 64 * 1024 * 1024,
    sizeOf: rowsSize,
  })
  readonly #pages = new IndexCache<RenderedPage>({
    name: 'pypi-pages',
    max: 5000,
    maxSize: 64 * 1024 * 1024,
    sizeOf: (p) => p.body.length,
  })
  readonly #owners = new IndexCache<{ packageId: string | null }>({
    name: 'pypi-owners',
    max: 10000,
    sizeOf: () => 128,
  })

  constructor(readonly db: Executor) {}

  packages(ctx: PageContext): Promise<PypiPackage[]> {
    return this.#packages.getOrLoad(cacheKey(ctx.account.id, ctx.revision), () =>
      listPypiPackages(this.db, ctx.account.id),
    )
  }

  rows(ctx: PageContext, pkg: PypiPackage): Promise<FileRow[]> {
    return this.#rows.getOrLoad(cacheKey(ctx.account.id, ctx.revision, pkg.id), () =>
      listFileRows(this.db, ctx.account.id, pkg.id),
    )
  }

  /** packageOf finds the package an artifact belongs to (cached per revision: artifacts never move). */
  async packageOf(ctx: PageContext, artifactId: string): Promise<string | null> {
    const hit = await this.#owners.getOrLoad(cacheKey(ctx.account.id, ctx.revision, artifactId), async () => ({
      packageId: await packageOfArtifact(this.db, ctx.account.id, artifactId),
    }))
    return hit.packageId
  }

  /** indexPage lists the pypi packages in the principal's package scope, by normalized name. */
  async indexPage(ctx: PageContext, rep: Representation): Promise<RenderedPage> {
    const key = cacheKey(
      'index',
      ctx.account.id,
      ctx.revision,
      visibilityClass(ctx.principal, ctx.now),
      rep,
      ctx.baseUrl,
    )
    return this.#pages.getOrLoad(key, async () => {
      const all = [...(await this.packages(ctx))].sort((a, b) => (a.normalized < b.normalized ? -1 : 1))
      const entriesFor = (p: Principal): IndexEntry[] =>
        all
          .filter((pkg) => packageInScope(p, { productId: pkg.productId, strategy: pkg.strategy }))
          .map((pkg) => ({ id: pkg.id, name: pkg.key, url: projectUrl(ctx, pkg) }))
      const entries = entriesFor(ctx.principal)
      const isPublic = sameIds(entries, entriesFor(ANONYMOUS))
      const body =
        rep === 'json' ? renderIndexJson(entries) : renderIndexHtml(`Packages for ${ctx.account.name}`, entries)
      return renderedPage(body, CONTENT_TYPES[rep], isPublic)
    })
  }

  /** projectPage lists the package's files the principal may see; the caller has checked the show rule. */
  async projectPage(ctx: PageContext, pkg: PypiPackage, rep: Representation, anonymousMayShow: boolean) {
    const cls = visibilityClass(ctx.principal, ctx.now)
    const key = cacheKey('project', ctx.account.id, ctx.revision, cls, pkg.id, rep, ctx.baseUrl)
    return this.#pages.getOrLoad(key, async () => {
      const rows = await this.rows(ctx, pkg)
      const files = visibleFiles(ctx.principal, rows, ctx.now)
      const isPublic = anonymousMayShow && sameIds(files, visibleFiles(ANONYMOUS, rows, ctx.now))
      const view = buildProjectView(pkg.normalized, files, (r) => fileUrl(ctx, r.artifactId, r.filename))
      const body = rep === 'json' ? renderProjectJson(view) : renderProjectHtml(view)
      ctx.log?.debug({ engine: 'pypi', project: pkg.normalized, files: files.length, rep }, 'rendered simple page')
      return renderedPage(body, CONTENT_TYPES[rep], isPublic)
    })
  }
}

function sameIds<T extends { id: string } | { artifactId: string }>(a: readonly T[], b: readonly T[]): boolean {
  const id = (x: T) => ('id' in x ? x.id : x.artifactId)
  return a.length === b.length && a.every((x, i) => id(x) === id(b[i]))
}
