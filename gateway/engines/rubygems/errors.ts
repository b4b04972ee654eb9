import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { authChallenge } from '../../auth/plugin.ts'
import { GatewayError } from '../../errors.ts'
import { sendJsonApiErrors, toJsonApiError } from '../../plugins/error-handler.ts'

/** Realm of the RubyGems engine's Basic challenge. */
export const REALM = 'pkgway'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route belongs to the compact index, whose errors are an empty `text/plain` body. */
    compactIndex?: boolean
  }
}

export const gemNotFound = (name: string) =>
  new GatewayError('NOT_FOUND', `The requested gem '${name}' was not found`, 404)

/** Keygen's answer to a compact index request whose Accept excludes text. see: ../shared/spec/engines.md §1.5 */
export const mimeTypeInvalid = () =>
  new GatewayError(
    'MIME_TYPE_INVALID',
    'The mime type of the request is not acceptable (check content-type and accept headers)',
    400,
  )

function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const { status, error, headers } = toJsonApiError(err)
  if (status >= 500) request.log.error({ err, engine: 'rubygems' }, 'request failed')
  else request.log.info({ code: error.code, status, engine: 'rubygems' }, 'request rejected')
  if (headers) reply.headers(headers)
  if (status === 401 && !reply.hasHeader('WWW-Authenticate')) reply.header('WWW-Authenticate', authChallenge(request))
  reply.header('Cache-Control', 'no-store')
  if (request.routeOptions.config?.compactIndex) return reply.code(status).type('text/plain').send('')
  return sendJsonApiErrors(request, reply, status, [error])
}

/**
 * useRubygemsErrors renders errors as Keygen does for RubyGems: an empty `text/plain` body on compact index routes
 * (Bundler shows only the status), the JSON:API error document on the legacy index and gem downloads; every 401
 * carries the Basic challenge.
 */
export function useRubygemsErrors(fastify: FastifyInstance): void {
  fastify.setErrorHandler((err, request, reply) => sendError(request, reply, err))
}
