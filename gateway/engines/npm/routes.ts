import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isValidNpmName } from '../../../formats/npm/package-json.ts'
import authenticate from '../../auth/plugin.ts'
import { packageInScope } from '../../auth/policy.ts'
import { hidden } from '../hidden.ts'
import { sendRendered } from '../rendered.ts'
import { mimeTypeInvalid, packageNotFound, REALM, useNpmErrors } from './errors.ts'
import { findNpmPackage, Packuments } from './packuments.ts'

/** acceptsJson: npm sends `application/json` or the abbreviated `application/vnd.npm.install-v1+json`. */
function acceptsJson(accept: string | undefined): boolean {
  return (
    accept === undefined ||
    accept.trim() === '' ||
    /\*\/\*|application\/(\*|json|vnd\.npm\.install-v1\+json)/i.test(accept)
  )
}

/**
 * The npm engine: `GET <scope>/engines/npm/<name>` (also `@scope/name` and `@scope%2fname`) answers the package's
 * full packument, also when npm asks for the abbreviated form. Every version is the stored package.json with a
 * `dist` whose `tarball` is the absolute, stable artifact download URL (lockfiles keep it): that route answers 303
 * to storage, and npm (which keeps `Authorization` across redirects to the same host name) drops its credentials
 * on the way to S3 on another host, while the filesystem store's signed URLs, on the gateway itself, ignore them.
 * `/-/package/<name>/dist-tags` answers the dist-tags of the versions the caller sees (`npm dist-tag ls`); the rest
 * of `/-/…` (audit, whoami, login, changing dist-tags) answers 410 with an empty body, so npm carries on.
 * see: ../shared/spec/engines.md §2.3, §4.5 · ../shared/spec/clients.md §2
 */
export async function npmEngine(fastify: FastifyInstance) {
  useNpmErrors(fastify)
  // The engine reads no body: whatever npm sends (a gzipped audit report…) is drained unparsed.
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('*', (_request, payload, done) => {
    payload.resume()
    done(null)
  })
  await fastify.register(authenticate, { challenge: 'Bearer', realm: REALM })
  const { readModel } = fastify
  const packuments = new Packuments(readModel)

  /** serve answers one of the package's views (packument or dist-tags) as the caller sees it. */
  async function serve(request: FastifyRequest, reply: FastifyReply, name: string, view: 'page' | 'tags') {
    if (!isValidNpmName(name)) throw hidden(request, packageNotFound(name))
    if (!acceptsJson(request.headers.accept)) throw mimeTypeInvalid()
    const snap = await readModel.snapshot(request.account.id)
    const pkg = findNpmPackage(snap, name)
    const { principal } = request
    if (!pkg || !packageInScope(principal, pkg.facts)) throw hidden(request, packageNotFound(name))
    const ctx = { snap, principal, base: fastify.absoluteBase(request), now: Date.now() }
    const rendered = (await packuments.get(ctx, pkg))[view]
    if (!rendered) throw hidden(request, packageNotFound(name))
    return sendRendered(request, reply, rendered, { maxAge: 0 })
  }

  /** byName routes `<prefix>/name` and `<prefix>/@scope/name` (npm sends `@scope%2fname`, one segment) to a view. */
  function byName(prefix: string, suffix: string, view: 'page' | 'tags') {
    fastify.get<{ Params: { name: string } }>(
      `${prefix}/:name${suffix}`,
      { config: { replay: true } },
      (request, reply) => serve(request, reply, request.params.name, view),
    )
    fastify.get<{ Params: { scope: string; name: string } }>(
      `${prefix}/:scope/:name${suffix}`,
      { config: { replay: true } },
      (request, reply) => {
        const { scope, name } = request.params
        if (!scope.startsWith('@')) return reply.callNotFound()
        return serve(request, reply, `${scope}/${name}`, view)
      },
    )
  }

  // Reading a package's dist-tags (`npm dist-tag ls`); changing them (PUT, DELETE) falls to the 410 below.
  byName('/-/package', '/dist-tags', 'tags')
  fastify.all('/-/*', async (_request, reply) => reply.code(410).send())
  byName('', '', 'page')
}
