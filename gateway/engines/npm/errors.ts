import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { authChallenge } from '../../auth/plugin.ts'
import { GatewayError } from '../../errors.ts'
import { type JsonApiError, toJsonApiError } from '../../plugins/error-handler.ts'

/** Realm of the npm engine's challenges. */
export const REALM = 'pkgway'

export const packageNotFound = (name: string) =>
  new GatewayError('NOT_FOUND', `The requested package '${name}' was not found`, 404)

/** Keygen's answer to a request whose Accept excludes JSON. see: ../shared/spec/engines.md §1.5 */
export const mimeTypeInvalid = () =>
  new GatewayError(
    'MIME_TYPE_INVALID',
    'The mime type of the request is not acceptable (check content-type and accept headers)',
    400,
  )

function sendJson(request: FastifyRequest, reply: FastifyReply, status: number, error: JsonApiError) {
  // `error` is what npm prints after the status line; `errors` is Keygen's error document.
  return reply
    .code(status)
    .header('Cache-Control', 'no-store')
    .type('application/json; charset=utf-8')
    .send({ error: error.detail, meta: { id: request.id }, errors: [error] })
}

/**
 * useNpmErrors renders the engine's errors as Keygen renders npm errors: a JSON error document with
 * `application/json; charset=utf-8`, every 401 carrying the challenge.
 */
export function useNpmErrors(fastify: FastifyInstance): void {
  fastify.setErrorHandler((err, request, reply) => {
    const { status, error, headers } = toJsonApiError(err)
    if (status >= 500) request.log.error({ err, engine: 'npm' }, 'request failed')
    else request.log.info({ code: error.code, status, engine: 'npm' }, 'request rejected')
    if (headers) reply.headers(headers)
    if (status === 401 && !reply.hasHeader('WWW-Authenticate')) reply.header('WWW-Authenticate', authChallenge(request))
    return sendJson(request, reply, status, error)
  })
  fastify.setNotFoundHandler((request, reply) =>
    sendJson(request, reply, 404, {
      title: 'Not found',
      detail: 'The requested endpoint was not found (check your HTTP method, Accept header, and URL path)',
      code: 'NOT_FOUND',
    }),
  )
}
