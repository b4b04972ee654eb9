/**
 * Error codes of a TCP client whose server is down, unreachable or went away mid-request. The catalog and the
 * blob store both treat them as "cannot serve now" (503), each adding codes of its own.
 */
export const NETWORK_ERROR_CODES: readonly string[] = [
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]
