import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { pingCatalog, watchCatalogHealth } from '../catalog/health.ts'
import { RETRY_AFTER_SECONDS } from '../outage.ts'

/** The catalog must answer the readiness query within this long. */
export const READY_TIMEOUT_MS = 1_000

export interface HealthOptions {
  /** Outcome of the blob store check made at start (server.ts); absent, the gateway checks once when ready. */
  storageReachable?: boolean
}

/**
 * health serves readiness and logs catalog outages. `GET /readyz` answers 200 when the catalog answers a trivial
 * query within {@link READY_TIMEOUT_MS} and the blob store was reachable at start, else 503 naming what is down;
 * concurrent polls share one query, so a load balancer may poll every second. Liveness (`/healthz`) stays
 * independent of both, so an outage takes an instance out of rotation without restarting it.
 */
async function health(fastify: FastifyInstance, opts: HealthOptions) {
  const unwatch = watchCatalogHealth(fastify.catalog, fastify.log)
  fastify.addHook('onClose', async () => unwatch())

  let storage = opts.storageReachable ?? null
  fastify.addHook('onReady', async () => {
    storage ??= await fastify.blobs.check().then(
      () => true,
      (err) => {
        fastify.log.warn({ err, store: fastify.blobs.name }, 'blob store not reachable at start')
        return false
      },
    )
  })

  let pending: Promise<boolean> | null = null
  const catalogAnswers = (): Promise<boolean> => {
    pending ??= new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), READY_TIMEOUT_MS)
      pingCatalog(fastify.catalog.db)
        .then(
          () => resolve(true),
          () => resolve(false),
        )
        .finally(() => clearTimeout(timer))
    }).finally(() => {
      pending = null
    })
    return pending
  }

  fastify.get('/readyz', async (_request, reply) => {
    const checks = { catalog: (await catalogAnswers()) ? 'up' : 'down', storage: storage ? 'up' : 'down' }
    const down = Object.entries(checks)
      .filter(([, state]) => state === 'down')
      .map(([name]) => name)
    reply.header('Cache-Control', 'no-store')
    if (down.length === 0) return reply.code(200).send({ status: 'ready', checks })
    return reply
      .code(503)
      .header('Retry-After', String(RETRY_AFTER_SECONDS))
      .send({ status: 'unavailable', down, checks })
  })
}

export default fp(health, { name: 'pkgway-health', dependencies: ['pkgway-services'] })
