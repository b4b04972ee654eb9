import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { accountOfToken, registryPrincipal } from './auth.ts'
import { sendBlob } from './blobs.ts'
import { openRepository, type RegistryDeps } from './context.ts'
import { authenticationRequired, unsupported, useOciErrors } from './errors.ts'
import { serveManifest } from './manifests.ts'
import { parseRegistryPath } from './path.ts'
import { sendReferrers } from './referrers.ts'
import { sendTags } from './tags.ts'
import { RegistryTokens } from './token.ts'
import { TOKEN_ENDPOINT_CHALLENGE, tokenRoutes } from './token-route.ts'

type RegistryRequest = FastifyRequest<{ Params: { '*': string }; Querystring: Record<string, unknown> }>

/** The `service` of the Bearer challenge; the token endpoint ignores it. */
const SERVICE = 'pkgway'

/**
 * The OCI registry: the distribution spec's pull API at `/v2/` (the path every OCI client requires, so it is
 * mounted at the gateway's root, not per `/v1` scope), with its own error format and token endpoint. Repository
 * names are `<package>` (default account) or `<account>/<package>`; references are release tags and versions, and
 * digests. Pull only: every other method is 405 UNSUPPORTED.
 * see: ../shared/spec/engines.md §2.5, §4.9–4.12 · ../shared/spec/clients.md §4
 */
export async function ociRegistry(fastify: FastifyInstance) {
  const deps: RegistryDeps = { readModel: fastify.readModel, tokens: new RegistryTokens(fastify.signingKeys) }
  fastify.decorateRequest('ociRepository', null)
  useOciErrors(fastify, (request) => challenge(fastify, request))
  // containerd POSTs its token request as a form; nothing else here has a body worth reading (push attempts).
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 16 * 1024 },
    (_request, body, done) => done(null, new URLSearchParams(body as string)),
  )
  fastify.addContentTypeParser('*', (_request, _payload, done) => done(null))
  fastify.addHook('onRequest', async (_request, reply) => {
    reply.header('Docker-Distribution-Api-Version', 'registry/2.0')
  })

  tokenRoutes(fastify, deps)
  fastify.route({ method: ['GET', 'HEAD'], url: '/', handler: (request, reply) => base(request, reply) })
  fastify.route({
    method: ['GET', 'HEAD'],
    url: '/*',
    config: { replay: true },
    handler: (request: RegistryRequest, reply) => dispatch(request, reply),
  })
  fastify.route({ method: ['POST', 'PUT', 'PATCH', 'DELETE'], url: '/', handler: refuse })
  fastify.route({ method: ['POST', 'PUT', 'PATCH', 'DELETE'], url: '/*', handler: refuse })

  /**
   * `GET|HEAD /v2/`: 200 for any valid credential or registry token (so `docker login` checks the key), 401 with
   * the Bearer challenge without one. Credentials are checked against the default account, unless a registry
   * token names its own.
   */
  async function base(request: FastifyRequest, reply: FastifyReply) {
    const id = accountOfToken(request, deps.tokens)
    const account = (id && (await deps.readModel.account(id))) || (await deps.readModel.defaultAccount())
    const principal = await registryPrincipal(request, deps, account, null)
    const tokenSent = id !== null
    if (principal.kind === 'anonymous' && !tokenSent) throw authenticationRequired()
    return reply.code(200).type('application/json; charset=utf-8').send('{}')
  }

  async function dispatch(request: RegistryRequest, reply: FastifyReply) {
    const path = parseRegistryPath(request.params['*'])
    if (!path) throw unsupported()
    const ctx = await openRepository(request, deps, path.name)
    switch (path.kind) {
      case 'manifests':
        return serveManifest(ctx, path.arg, request, reply)
      case 'blobs':
        return sendBlob(ctx, path.arg, request, reply)
      case 'tags':
        return sendTags(ctx, request.query, fastify.linkBase, reply)
      case 'referrers':
        return sendReferrers(ctx, path.arg, request.query, reply)
    }
  }
}

async function refuse(_request: FastifyRequest, reply: FastifyReply) {
  reply.header('Allow', 'GET, HEAD')
  throw unsupported()
}

/**
 * challenge is the `WWW-Authenticate` of a 401: the Bearer token flow, with the token endpoint's absolute URL from
 * `publicUrl` or an allowed Host (never another host) and the repository's pull scope. When neither gives an
 * absolute URL, clients are asked for Basic credentials instead, which every request takes too.
 */
function challenge(fastify: FastifyInstance, request: FastifyRequest): string {
  if (request.ociTokenEndpoint) return TOKEN_ENDPOINT_CHALLENGE
  let base: string
  try {
    base = fastify.absoluteBase(request)
  } catch {
    return TOKEN_ENDPOINT_CHALLENGE
  }
  const scope = request.ociRepository ? `,scope="repository:${request.ociRepository}:pull"` : ''
  return `Bearer realm="${base}v2/token",service="${SERVICE}"${scope}`
}
