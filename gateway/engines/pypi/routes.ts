import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import authenticate from '../../auth/plugin.ts'
import { canShowRelease } from '../../auth/policy.ts'
import { ANONYMOUS, type Principal } from '../../auth/principal.ts'
import { isUuid } from '../../catalog/accounts.ts'
import { GatewayError } from '../../errors.ts'
import { parseCoreMetadata } from '../../../formats/python/core-metadata.ts'
import { forbidden, notAcceptable, notFound, REALM, unauthorized, usePlainTextErrors } from './errors.ts'
import { negotiate } from './negotiate.ts'
import { isValidProjectName, normalizeProjectName } from '../../../formats/python/normalize.ts'
import { findProject, type PageContext, PypiPages } from './pages.ts'
import { fileRows, packageOfArtifact, pypiPackages } from './projects.ts'
import { artifactDownloadPath, queryOf } from '../../read-model/links.ts'
import { Upstream, upstreamProjectUrl } from './passthrough.ts'
import { etagMatches } from '../../conditional.ts'
import { sendRendered } from '../rendered.ts'
import { canShow, releaseFacts, visibleFiles } from './visibility.ts'

/** Lifetime clients and caches may reuse a page for; pip revalidates anyway (it sends max-age=0 + ETag). */
const PAGE_MAX_AGE = 600
/** A page is HTML or JSON by `Accept` (PEP 691), and a caller's view by `Authorization`. */
const PAGE = { maxAge: PAGE_MAX_AGE, vary: 'Accept, Authorization' }

type ProjectRequest = FastifyRequest<{ Params: { project: string } }>
type FileRequest = FastifyRequest<{ Params: { artifact: string; '*': string } }>

/** denied is the show rule's answer: 401 with a Basic challenge so pip retries with credentials, else 403. */
const denied = (p: Principal): GatewayError => (p.kind === 'anonymous' ? unauthorized() : forbidden())

/**
 * The PyPI engine: the PEP 503/691 simple repository API over the account's pypi packages, at
 * `<scope>/engines/pypi/simple/[<project>/]`, plus `files/<artifact id>/<filename>` (303 to the artifact
 * download route) and `files/<artifact id>/<filename>.metadata` (PEP 658), authorized exactly like the page.
 * Names that are not a package of the account pass through to the public index (passthrough.ts).
 * see: ../shared/spec/engines.md §2.2 · ../shared/spec/clients.md §1
 */
export async function pypiEngine(fastify: FastifyInstance) {
  usePlainTextErrors(fastify)
  await fastify.register(authenticate, { challenge: 'Basic', realm: REALM })
  const config = fastify.config.pypi
  const { readModel, linkBase } = fastify
  const pages = new PypiPages(readModel)
  const upstream = config.passthrough === 'proxy' ? new Upstream(config) : null
  fastify.addHook('onClose', async () => upstream?.close())

  /** pageContext is the request's account snapshot and principal: no query when the snapshot is current. */
  async function pageContext(request: FastifyRequest): Promise<PageContext> {
    const { account, principal } = request
    const snap = await readModel.snapshot(account.id)
    return { account, snap, principal, base: linkBase, now: Date.now(), log: request.log }
  }

  async function passThrough(request: FastifyRequest, reply: FastifyReply, normalized: string) {
    request.log.debug({ engine: 'pypi', project: normalized, mode: config.passthrough }, 'pass-through')
    if (config.passthrough === 'off') throw notFound()
    // upstream exists only in proxy mode; redirect mode sends the client to the public index itself.
    if (!upstream) return reply.redirect(upstreamProjectUrl(config.upstream, normalized), 307)
    const page = await upstream.fetch(normalized, request.headers)
    return reply.code(page.status).headers(page.headers).send(page.body)
  }

  async function serveIndex(request: FastifyRequest, reply: FastifyReply) {
    const rep = negotiate(request.headers.accept)
    if (!rep) throw notAcceptable()
    const ctx = await pageContext(request)
    return sendRendered(request, reply, await pages.indexPage(ctx, pypiPackages(ctx.snap), rep), PAGE)
  }

  async function serveProject(request: ProjectRequest, reply: FastifyReply) {
    const requested = request.params.project
    if (!isValidProjectName(requested)) throw new GatewayError('BAD_REQUEST', 'invalid project name', 400)
    const ctx = await pageContext(request)
    const pkg = findProject(pypiPackages(ctx.snap), requested)
    if (!pkg) return passThrough(request, reply, normalizeProjectName(requested))
    if (!canShow(ctx.principal, pkg)) throw denied(ctx.principal)
    const rep = negotiate(request.headers.accept)
    if (!rep) throw notAcceptable()
    return sendRendered(request, reply, await pages.projectPage(ctx, pkg, rep, canShow(ANONYMOUS, pkg)), PAGE)
  }

  async function serveFile(request: FileRequest, reply: FastifyReply) {
    const { artifact, '*': name } = request.params
    if (!isUuid(artifact)) throw notFound()
    const ctx = await pageContext(request)
    const packageId = packageOfArtifact(ctx.snap, artifact.toLowerCase())
    const pkg = packageId ? pypiPackages(ctx.snap).find((p) => p.id === packageId) : undefined
    if (!pkg) throw notFound()
    if (!canShow(ctx.principal, pkg)) throw denied(ctx.principal)
    const rows = visibleFiles(ctx.principal, await fileRows(readModel, ctx.snap, pkg), ctx.now)
    const row = rows.find((r) => r.artifactId === artifact.toLowerCase())
    if (!row) throw notFound()
    if (name === row.filename) {
      // The download route is the gateway's own: query credentials (`?auth=`) go along, and nowhere else.
      const target = `${ctx.base}${artifactDownloadPath({ account_id: ctx.account.id, id: row.artifactId, filename: row.filename })}`
      return reply.redirect(`${target}${queryOf(request.url)}`, 303)
    }
    if (name !== `${row.filename}.metadata` || row.coreMetadata === null) throw notFound()
    // The download route applies the release show rule (suspended licenses, expiry); the metadata must too.
    if (!canShowRelease(ctx.principal, releaseFacts(row), ctx.now).allow) throw denied(ctx.principal)
    const metadata = parseCoreMetadata(row.coreMetadata)
    const isPublic = canShow(ANONYMOUS, pkg) && visibleFiles(ANONYMOUS, [row], ctx.now).length === 1
    const etag = `"${metadata.sha256}"`
    reply.header('ETag', etag).header('Vary', 'Authorization')
    reply.header('Cache-Control', `${isPublic ? 'public' : 'private'}, max-age=${PAGE_MAX_AGE}`)
    if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send()
    return reply.code(200).type('text/plain; charset=utf-8').send(metadata.bytes)
  }

  const replay = { config: { replay: true } }
  for (const path of ['/simple', '/simple/']) fastify.get(path, replay, serveIndex)
  for (const path of ['/simple/:project', '/simple/:project/']) fastify.get(path, replay, serveProject)
  fastify.get('/files/:artifact/*', replay, serveFile)
}
