import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { canShowRelease } from '../../auth/policy.ts'
import { ANONYMOUS } from '../../auth/principal.ts'
import { forbidden } from '../../errors.ts'
import { proxyBlob } from '../../storage/delivery.ts'
import { artifactKey } from '../../storage/keys.ts'
import { hidden } from '../hidden.ts'
import { sendRendered } from '../rendered.ts'
import { gemNotFound } from './errors.ts'
import { gemByFilename } from './gems.ts'
import type { IndexKind } from './indexes.ts'
import type { RubygemsPages } from './pages.ts'

/** Lifetime of `.gem` download URLs, as Keygen signs them (10 minutes). */
const GEM_URL_TTL = 600
const MAX_AGE = 60

type FileRequest = FastifyRequest<{ Params: { file: string } }>

/**
 * legacyRoutes adds what `gem` still needs besides the compact index: the Marshal indexes (`specs.4.8.gz`,
 * `latest_specs.4.8.gz`, `prerelease_specs.4.8.gz`), `quick/Marshal.4.8/<gem>.gemspec.rz` (fetched even in compact
 * mode) and `gems/<gem>.gem`, which answers 303 (never 308: RubyGems cannot follow it) straight to storage with an
 * absolute URL (RubyGems cannot follow a relative one; it sends no credentials there).
 * see: ../shared/spec/engines.md §2.4, §4.7–4.8 · ../shared/spec/clients.md §3
 */
export function legacyRoutes(fastify: FastifyInstance, pages: RubygemsPages): void {
  const { readModel } = fastify

  async function serveSpecs(request: FastifyRequest, reply: FastifyReply, kind: IndexKind) {
    const ctx = { snap: await readModel.snapshot(request.account.id), principal: request.principal, now: Date.now() }
    const { page, empty } = await pages.index(ctx, kind)
    if (!page || (empty && request.principal.kind === 'anonymous')) throw hidden(request, gemNotFound(kind))
    return sendRendered(request, reply, page, { maxAge: MAX_AGE, disposition: `attachment; filename="${kind}.4.8.gz"` })
  }

  /** findGem resolves `<name>-<version>[-<platform>].gem` the caller may download, applying the show rule. */
  async function findGem(request: FastifyRequest, filename: string) {
    const snap = await readModel.snapshot(request.account.id)
    const now = Date.now()
    const found = gemByFilename(snap, request.principal, filename, now)
    if (!found) throw hidden(request, gemNotFound(filename))
    const decision = canShowRelease(request.principal, found.release.facts, now)
    if (!decision.allow) throw forbidden(decision.reason)
    return { snap, now, ...found }
  }

  for (const kind of ['specs', 'latest_specs', 'prerelease_specs'] as const) {
    fastify.get(`/${kind}.4.8.gz`, { config: { replay: true } }, (request, reply) => serveSpecs(request, reply, kind))
  }

  fastify.get('/quick/Marshal.4.8/:file', { config: { replay: true } }, async (request: FileRequest, reply) => {
    const { file } = request.params
    if (!file.endsWith('.gemspec.rz')) throw hidden(request, gemNotFound(file))
    const name = file.slice(0, -'.gemspec.rz'.length)
    const { snap, now, row } = await findGem(request, `${name}.gem`)
    const isPublic = gemByFilename(snap, ANONYMOUS, row.filename, now)?.row.id === row.id
    const { page } = await pages.quick(snap, row, isPublic)
    if (!page) throw hidden(request, gemNotFound(file))
    return sendRendered(request, reply, page, { maxAge: MAX_AGE, disposition: `attachment; filename="${file}"` })
  })

  fastify.get('/gems/:file', { config: { replay: true } }, async (request: FileRequest, reply) => {
    const { file } = request.params
    if (!file.endsWith('.gem')) throw hidden(request, gemNotFound(file))
    const { row } = await findGem(request, file)
    const key = artifactKey(row.account_id, row.release_id, row.filename)
    if (fastify.config.storage.delivery === 'proxy') return proxyBlob(request, reply, key, row.filename)
    const url = await fastify.blobs.redirectUrl(key, 'GET', {
      baseUrl: fastify.absoluteBase(request),
      filename: row.filename,
      ttl: GEM_URL_TTL,
    })
    return reply.code(303).header('Location', url).header('Cache-Control', 'no-store').send()
  })
}
