import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import authenticate from '../../auth/plugin.ts'
import { isUuid } from '../../catalog/accounts.ts'
import { hidden } from '../hidden.ts'
import { sendRendered } from '../rendered.ts'
import { gemNotFound, mimeTypeInvalid, REALM, useRubygemsErrors } from './errors.ts'
import type { IndexKind } from './indexes.ts'
import { legacyRoutes } from './legacy.ts'
import { RubygemsPages } from './pages.ts'

/** Seconds clients may reuse an index file; Bundler and gem revalidate on every run anyway. */
const INDEX_MAX_AGE = 60

/** acceptsText: the compact index is `text/plain`; Bundler and gem send `*\/*` or nothing. */
function acceptsText(accept: string | undefined): boolean {
  return accept === undefined || accept.trim() === '' || /\*\/\*|text\/(\*|plain)/i.test(accept)
}

const compact = { config: { compactIndex: true, replay: true } }

/**
 * The RubyGems engine at `<scope>/engines/rubygems/`: the compact index (`versions`, `info/<gem>`, `names`; ETag =
 * quoted MD5 of the body, `Repr-Digest`, and 206 for `Range: bytes=N-`, which Bundler appends to its copy), HEAD
 * and GET on the root (gem's probe) and on `versions` (RubyGems ≥ 3.5.19's probe), the legacy Marshal index and
 * `gems/<file>.gem` downloads (legacy.ts). gem and Bundler send Basic `license:KEY` or `token:TOKEN` pre-emptively.
 * see: ../shared/spec/engines.md §2.4, §4.6–4.8 · ../shared/spec/clients.md §3
 */
export async function rubygemsEngine(fastify: FastifyInstance) {
  useRubygemsErrors(fastify)
  await fastify.register(authenticate, { challenge: 'Basic', realm: REALM })
  const pages = new RubygemsPages(fastify.readModel)

  async function serveIndex(request: FastifyRequest, reply: FastifyReply, kind: IndexKind, name?: string) {
    if (!acceptsText(request.headers.accept)) throw mimeTypeInvalid()
    const ctx = {
      snap: await fastify.readModel.snapshot(request.account.id),
      principal: request.principal,
      now: Date.now(),
    }
    const { page, empty } = await pages.index(ctx, kind)
    if (!page) throw hidden(request, gemNotFound(name ?? kind))
    // Nothing at all for an anonymous caller: say that credentials are needed, so Bundler asks for them.
    if (empty && request.principal.kind === 'anonymous') throw hidden(request, gemNotFound(kind))
    return sendRendered(request, reply, page, { maxAge: INDEX_MAX_AGE, ranges: true })
  }

  // The ping: gem uses the compact index when `HEAD <source>/` answers 2xx. No credentials are needed.
  fastify.get('/', compact, async (_request, reply) => reply.code(200).type('text/plain; charset=utf-8').send(''))
  fastify.get('/versions', compact, (request, reply) => serveIndex(request, reply, 'versions'))
  fastify.get('/names', compact, (request, reply) => serveIndex(request, reply, 'names'))
  fastify.get<{ Params: { gem: string } }>('/info/:gem', compact, async (request, reply) => {
    let gem = request.params.gem
    if (isUuid(gem)) {
      const snap = await fastify.readModel.snapshot(request.account.id)
      gem = snap.packagesById.get(gem.toLowerCase())?.key ?? gem
    }
    return serveIndex(request, reply, `info/${gem}`, request.params.gem)
  })
  legacyRoutes(fastify, pages)
}
