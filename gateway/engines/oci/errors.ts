import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { GatewayError } from '../../errors.ts'

/**
 * The registry's error format: `{"errors":[{"code","message","detail"}]}` with the distribution spec's codes and
 * statuses. Errors thrown elsewhere (credential resolution: LICENSE_INVALID, TOKEN_EXPIRED, …) keep their message
 * and travel in `detail.code`, under the OCI code of their status (401 UNAUTHORIZED, 403 DENIED).
 * see: https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes
 */
export type OciErrorCode =
  | 'BLOB_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'PAGINATION_NUMBER_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  | 'UNKNOWN'

/** OciError is an error the registry answers as it is. */
export class OciError extends GatewayError {
  constructor(
    code: OciErrorCode,
    message: string,
    status: number,
    readonly detail: unknown = null,
  ) {
    super(code, message, status)
    this.name = 'OciError'
  }
}

export const nameInvalid = (name: string) => new OciError('NAME_INVALID', 'invalid repository name', 400, { name })
export const nameUnknown = (name: string) =>
  new OciError('NAME_UNKNOWN', 'repository name not known to registry', 404, { name })
export const digestInvalid = (digest: string) =>
  new OciError('DIGEST_INVALID', 'provided digest did not match uploaded content', 400, { digest })
export const referenceInvalid = (reference: string) =>
  new OciError('MANIFEST_INVALID', 'invalid reference: not a tag or a digest', 400, { reference })
export const manifestUnknown = (reference: string, message = 'manifest unknown') =>
  new OciError('MANIFEST_UNKNOWN', message, 404, reference.includes(':') ? { Digest: reference } : { Tag: reference })
export const blobUnknown = (digest: string) => new OciError('BLOB_UNKNOWN', 'blob unknown to registry', 404, { digest })
export const unsupported = () =>
  new OciError('UNSUPPORTED', 'the operation is unsupported: this registry is pull-only', 405)
export const authenticationRequired = (reason = 'authentication required') => new OciError('UNAUTHORIZED', reason, 401)
export const denied = () => new OciError('DENIED', 'requested access to the resource is denied', 403)

interface Rendered {
  status: number
  code: OciErrorCode
  message: string
  detail: unknown
}

const BY_STATUS: Record<number, OciErrorCode> = {
  401: 'UNAUTHORIZED',
  403: 'DENIED',
  404: 'NAME_UNKNOWN',
  405: 'UNSUPPORTED',
  429: 'TOOMANYREQUESTS',
}

/** toOciError renders anything thrown; messages of unexpected (5xx) errors are hidden. */
export function toOciError(err: unknown): Rendered {
  if (err instanceof OciError) {
    return { status: err.statusCode, code: err.code as OciErrorCode, message: err.message, detail: err.detail }
  }
  const status = (err as FastifyError)?.statusCode
  if (typeof status !== 'number' || status < 400 || status >= 500) {
    return { status: 500, code: 'UNKNOWN', message: 'an unexpected error occurred', detail: null }
  }
  const code = BY_STATUS[status] ?? 'UNSUPPORTED'
  const detail = err instanceof GatewayError ? { code: err.code } : null
  return { status, code, message: (err as Error).message || code, detail }
}

/**
 * useOciErrors gives the registry scope its error handler. Every 401 carries the challenge `challenge` computes for
 * the request (the Bearer token flow; it replaces the Keygen-style challenge of credential errors).
 */
export function useOciErrors(fastify: FastifyInstance, challenge: (request: FastifyRequest) => string): void {
  fastify.setErrorHandler((err, request, reply) => {
    const e = toOciError(err)
    if (e.status >= 500) request.log.error({ err, engine: 'oci' }, 'request failed')
    else request.log.info({ code: e.code, status: e.status, engine: 'oci' }, 'request rejected')
    return sendOciError(reply, e, e.status === 401 ? challenge(request) : undefined)
  })
}

function sendOciError(reply: FastifyReply, e: Rendered, challenge?: string): FastifyReply {
  if (challenge) reply.header('WWW-Authenticate', challenge)
  return reply
    .code(e.status)
    .header('Cache-Control', 'no-store')
    .type('application/json; charset=utf-8')
    .send({ errors: [{ code: e.code, message: e.message, detail: e.detail }] })
}
