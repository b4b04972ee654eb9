import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify'
import { challengeHeader } from '../../auth/credentials.ts'
import { GatewayError } from '../../errors.ts'
import { asOutage } from '../../outage.ts'

/** Realm of the Basic challenge; pip only retries with credentials (netrc, keyring, prompt) after one. */
export const REALM = 'pkgway'

/** The PyPI engine's error bodies: literal status text, as Keygen sends them. see: engines.md §1.5 */
const TEXTS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  429: 'Too Many Requests',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
}

export const unauthorized = () =>
  new GatewayError('UNAUTHORIZED', 'You must be authenticated to complete the request', 401, {
    headers: { 'WWW-Authenticate': challengeHeader('Basic', REALM) },
  })

export const forbidden = () => new GatewayError('FORBIDDEN', 'You do not have permission to complete the request', 403)

export const notFound = () => new GatewayError('NOT_FOUND', 'Not Found', 404)

export const notAcceptable = () =>
  new GatewayError('NOT_ACCEPTABLE', 'Accept text/html or application/vnd.pypi.simple.v1+json', 406)

function statusOf(err: unknown): number {
  const status = (err as FastifyError).statusCode
  return typeof status === 'number' && status >= 400 && status <= 599 ? status : 500
}

function sendText(reply: FastifyReply, status: number, text: string): FastifyReply {
  return reply.code(status).header('Cache-Control', 'no-store').type('text/html; charset=utf-8').send(text)
}

/**
 * usePlainTextErrors gives the engine its own error and not-found handlers: plain status text with
 * `text/html; charset=utf-8`, every 401 carrying the Basic challenge, and a reason after the status text for
 * 502s (which upstream failed and how) and 503s (catalog or storage outage, with Retry-After), which is all a
 * person running pip can act on.
 */
export function usePlainTextErrors(fastify: FastifyInstance): void {
  fastify.setErrorHandler((thrown, request, reply) => {
    const err = asOutage(thrown) ?? thrown
    const status = statusOf(err)
    if (status >= 500 && status !== 503) request.log.error({ err, engine: 'pypi' }, 'request failed')
    else request.log.info({ code: (err as GatewayError).code, status, engine: 'pypi' }, 'request rejected')
    if (err instanceof GatewayError && err.options.headers) reply.headers(err.options.headers)
    if (status === 401 && !reply.hasHeader('WWW-Authenticate')) {
      reply.header('WWW-Authenticate', challengeHeader('Basic', REALM))
    }
    const text = TEXTS[status] ?? (status >= 500 ? 'Internal Server Error' : 'Bad Request')
    const reason = (status === 502 || status === 503) && err instanceof GatewayError
    return sendText(reply, status, reason ? `${text}: ${err.message}` : text)
  })
  fastify.setNotFoundHandler((_request, reply) => sendText(reply, 404, TEXTS[404]))
}
