import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { observeCatalog, recordRequest } from '../metrics.ts'
import { BLOB_ROUTE } from '../storage/signed-url.ts'

const HEALTH_ROUTES = new Set(['/healthz', '/readyz', '/v1/ping'])

/** engineOf names what a route pattern belongs to: an engine key, `api`, `blobs`, `health`, or `none` (unmatched). */
export function engineOf(route: string | undefined, mountPrefix: string): string {
  if (!route) return 'none'
  const path = route.startsWith(mountPrefix) ? route.slice(mountPrefix.length) : route
  const engine = /\/engines\/([a-z]+)(\/|$)/.exec(path)
  if (engine) return engine[1]
  if (path.startsWith(`/${BLOB_ROUTE}`)) return 'blobs'
  if (HEALTH_ROUTES.has(path)) return 'health'
  return path.startsWith('/v1') ? 'api' : 'none'
}

/**
 * metrics counts every answered request by route pattern, engine and status class (gateway/metrics.ts), and
 * lets the queue gauges read this gateway's catalog. The metrics are served by a listener of their own.
 */
async function metrics(fastify: FastifyInstance) {
  observeCatalog(fastify.catalog)
  const engines = new Map<string | undefined, string>()
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url
    let engine = engines.get(route)
    if (engine === undefined) {
      engine = engineOf(route, fastify.mountPrefix)
      engines.set(route, engine)
    }
    recordRequest({
      method: request.method,
      route: route ?? '(unmatched)',
      engine,
      status: reply.statusCode,
      seconds: reply.elapsedTime / 1000,
    })
    done()
  })
}

export default fp(metrics, { name: 'pkgway-metrics', dependencies: ['pkgway-services'] })
