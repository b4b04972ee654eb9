import { isCatalogUnavailable } from './catalog/health.ts'
import { GatewayError } from './errors.ts'
import { BlobStoreError } from './storage/blob-store.ts'

/**
 * Outages: errors that mean the catalog or the blob store cannot serve now. Every engine's error handler calls
 * {@link asOutage} first and renders the 503 it returns in its own format (JSON:API, plain text for pip, ...),
 * with its Retry-After header; such an error is never a 500, and never logged as a failure of the request.
 */

export type Dependency = 'catalog' | 'storage'

/** Seconds a client is asked to wait before retrying a request that met an outage. */
export const RETRY_AFTER_SECONDS = 5

const CODES: Record<Dependency, string> = { catalog: 'CATALOG_UNAVAILABLE', storage: 'STORAGE_UNAVAILABLE' }

const MESSAGES: Record<Dependency, string> = {
  catalog: 'The catalog is unavailable; try again later',
  storage: 'The storage backend is unavailable; try again later',
}

/** outageOf names the dependency that err says is unavailable, or null when err is anything else. */
export function outageOf(err: unknown): Dependency | null {
  if (err instanceof BlobStoreError) return err.unavailable ? 'storage' : null
  if (err instanceof GatewayError) {
    if (err.code === CODES.catalog) return 'catalog'
    return err.code === CODES.storage ? 'storage' : null
  }
  return isCatalogUnavailable(err) ? 'catalog' : null
}

/** unavailable is the 503 for an outage of dependency, with Retry-After; the original error is its cause. */
export function unavailable(dependency: Dependency, cause?: unknown): GatewayError {
  return new GatewayError(CODES[dependency], MESSAGES[dependency], 503, {
    cause,
    headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
  })
}

/** asOutage returns the 503 to answer for err when it is an outage (err itself if it already is one), else null. */
export function asOutage(err: unknown): GatewayError | null {
  const dependency = outageOf(err)
  if (!dependency) return null
  return err instanceof GatewayError && err.statusCode === 503 ? err : unavailable(dependency, err)
}
