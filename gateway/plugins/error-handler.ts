import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { defaultTitle, type ErrorSource, GatewayError } from '../errors.ts'
import { asOutage, outageOf } from '../outage.ts'

/** A Keygen-style error object, as it appears in `errors[]`. */
export interface JsonApiError {
  title: string
  detail: string
  code?: string
  source?: ErrorSource
}

/**
 * toJsonApiError turns anything thrown into the error object a client may see. Messages of unexpected
 * errors (5xx) are hidden; Fastify's own client errors (bad JSON, too large, bad content type) keep theirs.
 */
export function toJsonApiError(thrown: unknown): {
  status: number
  error: JsonApiError
  headers?: Record<string, string>
} {
  // A catalog or storage outage is a 503 with Retry-After, whatever threw it.
  const err = asOutage(thrown) ?? thrown
  if (err instanceof GatewayError) {
    // Server-side failures are logged in full; clients only learn which kind (storage keys and backend text stay in).
    const detail =
      err.statusCode < 500 || outageOf(err)
        ? err.message
        : err.code === 'STORAGE_ERROR'
          ? 'The storage backend failed; try again later'
          : 'An unexpected error occurred'
    return {
      status: err.statusCode,
      error: { title: err.title, detail, code: err.code, ...(err.source ? { source: err.source } : {}) },
      headers: err.options.headers,
    }
  }
  const fe = err as FastifyError
  const status = typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500 ? fe.statusCode : 500
  if (status === 500) {
    return {
      status,
      error: { title: defaultTitle(500), detail: 'An unexpected error occurred', code: 'INTERNAL_ERROR' },
    }
  }
  const code =
    fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
      ? 'CONTENT_TYPE_INVALID'
      : fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'PAYLOAD_TOO_LARGE'
        : fe.validation || fe.code?.startsWith('FST_ERR_CTP')
          ? 'BAD_REQUEST'
          : (fe.code ?? 'BAD_REQUEST')
  return { status, error: { title: defaultTitle(status), detail: fe.message || defaultTitle(status), code } }
}

/** wantsPlainJson is true when the client prefers application/json over the JSON:API media type. */
export function wantsPlainJson(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? ''
  return /application\/json/i.test(accept) && !/application\/vnd\.api\+json/i.test(accept)
}

/** sendJsonApiErrors writes a Keygen error document with the request id in meta. */
export function sendJsonApiErrors(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  errors: JsonApiError[],
  headers?: Record<string, string>,
): FastifyReply {
  if (headers) reply.headers(headers)
  return reply
    .code(status)
    .type(wantsPlainJson(request) ? 'application/json; charset=utf-8' : 'application/vnd.api+json; charset=utf-8')
    .send({ meta: { id: request.id }, errors })
}

/** errorHandler renders every error of the gateway (unless an engine overrides it) as a JSON:API document. */
async function errorHandler(fastify: FastifyInstance) {
  fastify.setErrorHandler((err, request, reply) => {
    const { status, error, headers } = toJsonApiError(err)
    // An outage is logged once when it starts (plugins/health.ts), not as a failure of every request it meets.
    if (status >= 500 && !outageOf(err)) request.log.error({ err }, 'request failed')
    else request.log.info({ code: error.code, status }, 'request rejected')
    return sendJsonApiErrors(request, reply, status, [error], headers)
  })
  fastify.setNotFoundHandler((request, reply) =>
    sendJsonApiErrors(request, reply, 404, [
      {
        title: 'Not found',
        detail: 'The requested endpoint was not found (check your HTTP method, Accept header, and URL path)',
        code: 'NOT_FOUND',
      },
    ]),
  )
}

export default fp(errorHandler, { name: 'pkgway-error-handler' })
