import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { type JsonApiError, toJsonApiError } from '../../plugins/error-handler.ts'

/** The updater's responses are per caller and per moment: never stored by a cache. */
export const NO_STORE = 'no-store'

function sendErrors(request: FastifyRequest, reply: FastifyReply, status: number, errors: JsonApiError[]) {
  return reply
    .code(status)
    .header('Cache-Control', NO_STORE)
    .type('application/json; charset=utf-8')
    .send({ meta: { id: request.id }, errors })
}

/**
 * useJsonErrors gives the Tauri engine Keygen's error document as `application/json; charset=utf-8` (the route's
 * default format is JSON, not JSON:API), for its own errors, authentication errors (with their challenge) and
 * unknown paths under the engine. The updater shows any non-2xx answer to the user as an error.
 * see: ../shared/spec/engines.md §1.5
 */
export function useJsonErrors(fastify: FastifyInstance): void {
  fastify.setErrorHandler((err, request, reply) => {
    const { status, error, headers } = toJsonApiError(err)
    if (status >= 500) request.log.error({ err, engine: 'tauri' }, 'request failed')
    else request.log.info({ code: error.code, status, engine: 'tauri' }, 'request rejected')
    if (headers) reply.headers(headers)
    return sendErrors(request, reply, status, [error])
  })
  fastify.setNotFoundHandler((request, reply) =>
    sendErrors(request, reply, 404, [
      {
        title: 'Not found',
        detail: 'The requested endpoint was not found (check your HTTP method, Accept header, and URL path)',
        code: 'NOT_FOUND',
      },
    ]),
  )
}
