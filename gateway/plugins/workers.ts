import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { type RunningWorkers, startWorkers } from '../../workers/index.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The in-process job workers, or null when they run as separate `pkgway worker` processes. */
    workers: RunningWorkers | null
  }
}

/**
 * workers runs the job workers inside the gateway process when `workers.inProcess` is on (the default for
 * `pkgway serve`): they start once the server is ready and stop, finishing or handing back their jobs,
 * before the catalog closes.
 */
async function workers(fastify: FastifyInstance) {
  fastify.decorate('workers', null as RunningWorkers | null)
  if (!fastify.config.workers.inProcess) return
  fastify.addHook('onReady', async () => {
    fastify.workers = startWorkers({
      catalog: fastify.catalog,
      blobs: fastify.blobs,
      config: fastify.config.workers,
      log: fastify.log.child({ component: 'workers' }),
    })
  })
  fastify.addHook('preClose', async () => {
    await fastify.workers?.stop()
    fastify.workers = null
  })
}

export default fp(workers, { name: 'pkgway-workers', dependencies: ['pkgway-services'] })
