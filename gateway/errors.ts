/**
 * Coded errors that carry their HTTP status. Handlers and services throw these; each plugin's error handler
 * renders them in its own format (JSON:API for the API, plain text for PyPI, OCI errors for OCI).
 */

export interface ErrorSource {
  pointer?: string
  parameter?: string
  header?: string
}

export class GatewayError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly statusCode: number,
    readonly options: { title?: string; source?: ErrorSource; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, { cause: options.cause })
    this.name = 'GatewayError'
  }

  get title(): string {
    return this.options.title ?? defaultTitle(this.statusCode)
  }

  get source(): ErrorSource | undefined {
    return this.options.source
  }
}

export function defaultTitle(status: number): string {
  switch (status) {
    case 400:
      return 'Bad request'
    case 401:
      return 'Unauthorized'
    case 403:
      return 'Access denied'
    case 404:
      return 'Not found'
    case 405:
      return 'Method not allowed'
    case 409:
      return 'Conflict'
    case 410:
      return 'Gone'
    case 413:
      return 'Payload too large'
    case 415:
      return 'Unsupported media type'
    case 422:
      return 'Unprocessable resource'
    case 429:
      return 'Too many requests'
    case 502:
      return 'Bad gateway'
    case 503:
      return 'Service unavailable'
    default:
      return status >= 500 ? 'Internal server error' : 'Bad request'
  }
}

export const badRequest = (detail: string, source?: ErrorSource, code = 'BAD_REQUEST') =>
  new GatewayError(code, detail, 400, { source })

export const notFound = (detail: string, code = 'NOT_FOUND') => new GatewayError(code, detail, 404)

export const forbidden = (reason?: string, code = 'FORBIDDEN') =>
  new GatewayError(
    code,
    reason
      ? `You do not have permission to complete the request (${reason})`
      : 'You do not have permission to complete the request',
    403,
  )

export const unprocessable = (code: string, detail: string, pointer?: string) =>
  new GatewayError(code, detail, 422, { source: pointer ? { pointer } : undefined })

export const conflict = (detail: string, code = 'CONFLICT') => new GatewayError(code, detail, 409)
