import type { FastifyRequest } from 'fastify'
import { requireAuth } from '../auth/plugin.ts'
import type { GatewayError } from '../errors.ts'

/**
 * hidden is the error for what the caller cannot see. An anonymous caller gets 401 with the scope's challenge,
 * for every name alike (so it reveals nothing), because credentials might show it: package managers then report
 * an authentication error instead of "not found". A caller with credentials gets the 404.
 * see: ../shared/spec/clients.md §2–3 (npm E401, Bundler "Authentication is required", gem "bad response 401")
 */
export function hidden(request: FastifyRequest, notFound: GatewayError): GatewayError {
  requireAuth(request)
  return notFound
}
