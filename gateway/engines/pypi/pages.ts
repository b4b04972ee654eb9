import type { FastifyBaseLogger } from 'fastify'
import { normalizeProjectName } from '../../../formats/python/normalize.ts'
import { packageInScope } from '../../auth/policy.ts'
import { ANONYMOUS, type Principal } from '../../auth/principal.ts'
import { isUuid } from '../../catalog/accounts.ts'
import type { Account } from '../../catalog/types.ts'
import { cacheKey, IndexCache } from '../../cache/index-cache.ts'
import type { AccountSnapshot } from '../../read-model/account-snapshot.ts'
import { encodePath } from '../../read-model/links.ts'
import type { ReadModel } from '../../read-model/read-model.ts'
import { visibilityClass } from '../../read-model/visibility.ts'
import { CONTENT_TYPES, type Representation } from './negotiate.ts'
import { buildProjectView } from './project.ts'
import { fileRows, type PypiPackage } from './projects.ts'
import { type IndexEntry, renderIndexHtml, renderProjectHtml } from './render-html.ts'
import { renderIndexJson, renderProjectJson } from './render-json.ts'
import { type RenderedBody, renderedBody } from '../rendered.ts'
import { visibleFiles } from './visibility.ts'

/** What every page request knows once authenticated: who asks, for which account, at which snapshot. */
export interface PageContext {
  account: Account
  snap: AccountSnapshot
  principal: Principal
  /** The gateway's link base (see `linkBase`): links never name a host the client chose. */
  base: string
  now: number
  log?: FastifyBaseLogger
}

/** fileUrl is a file's link: under the engine, so that `<url>.metadata` is served here too (PEP 658). */
export function fileUrl(ctx: Pick<PageContext, 'account' | 'base'>, artifactId: string, filename: string): string {
  return `${ctx.base}v1/accounts/${ctx.account.id}/engines/pypi/files/${artifactId}/${encodePath(filename)}`
}

/** projectUrl is a project page's canonical link: the normalized name with a trailing slash (PEP 503). */
export function projectUrl(ctx: Pick<PageContext, 'account' | 'base'>, pkg: PypiPackage): string {
  return `${ctx.base}v1/accounts/${ctx.account.id}/engines/pypi/simple/${pkg.normalized}/`
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

/**
 * PypiPages renders the simple index and project pages from the read model's snapshot, once per content
 * revision, visibility class and representation: `account · snapshot · class · project · representation` →
 * rendered body + ETag, bounded by bytes. A write moves the revision, so it shows on the next request.
 */
export class PypiPages {
  readonly #pages = new IndexCache<RenderedBody>({
    name: 'pypi-pages',
    max: 5000,
    maxSize: 64 * 1024 * 1024,
    sizeOf: (p) => p.body.length,
  })

  constructor(readonly model: ReadModel) {}

  /** indexPage lists the pypi packages in the principal's package scope, by normalized name. */
  indexPage(
    ctx: PageContext,
    packages: readonly PypiPackage[],
    rep: Representation,
  ): Promise<RenderedBody> | RenderedBody {
    const cls = visibilityClass(ctx.principal, ctx.now)
    const key = cacheKey('index', ctx.account.id, ctx.snap.serial, cls, rep)
    return this.#pages.getOrLoad(key, () => {
      const all = [...packages].sort((a, b) => (a.normalized < b.normalized ? -1 : 1))
      const entriesFor = (p: Principal): IndexEntry[] =>
        all
          .filter((pkg) => packageInScope(p, { productId: pkg.productId, strategy: pkg.strategy }))
          .map((pkg) => ({ id: pkg.id, name: pkg.key, url: projectUrl(ctx, pkg) }))
      const entries = entriesFor(ctx.principal)
      const isPublic = sameIds(entries, entriesFor(ANONYMOUS))
      const body =
        rep === 'json' ? renderIndexJson(entries) : renderIndexHtml(`Packages for ${ctx.account.name}`, entries)
      return renderedBody(body, CONTENT_TYPES[rep], isPublic)
    })
  }

  /** projectPage lists the package's files the principal may see; the caller has checked the show rule. */
  projectPage(
    ctx: PageContext,
    pkg: PypiPackage,
    rep: Representation,
    anonymousMayShow: boolean,
  ): Promise<RenderedBody> | RenderedBody {
    const cls = visibilityClass(ctx.principal, ctx.now)
    const key = cacheKey('project', ctx.account.id, ctx.snap.serial, cls, pkg.id, rep)
    return this.#pages.getOrLoad(key, async () => {
      const rows = await fileRows(this.model, ctx.snap, pkg)
      const files = visibleFiles(ctx.principal, rows, ctx.now)
      const isPublic = anonymousMayShow && sameIds(files, visibleFiles(ANONYMOUS, rows, ctx.now))
      const view = buildProjectView(pkg.normalized, files, (r) => fileUrl(ctx, r.artifactId, r.filename))
      const body = rep === 'json' ? renderProjectJson(view) : renderProjectHtml(view)
      ctx.log?.debug({ engine: 'pypi', project: pkg.normalized, files: files.length, rep }, 'rendered simple page')
      return renderedBody(body, CONTENT_TYPES[rep], isPublic)
    })
  }
}

function sameIds<T extends { id: string } | { artifactId: string }>(a: readonly T[], b: readonly T[]): boolean {
  const id = (x: T) => ('id' in x ? x.id : x.artifactId)
  return a.length === b.length && a.every((x, i) => id(x) === id(b[i]))
}
