import type { Command } from 'commander'
import type { PkgwayConfig } from '../config/schema.ts'
import type { Catalog } from '../gateway/catalog/db.ts'
import { configFor, run } from './common.ts'

/** serveWorkerMetrics starts the Prometheus listener of a worker process when `metrics.port` is set. */
async function serveWorkerMetrics(config: PkgwayConfig, catalog: Catalog) {
  if (config.metrics.port === undefined) return null
  const [{ observeCatalog }, { startMetricsServer }] = await Promise.all([
    import('../gateway/metrics.ts'),
    import('../gateway/metrics-server.ts'),
  ])
  observeCatalog(catalog)
  return startMetricsServer({ host: config.metrics.host, port: config.metrics.port })
}

/**
 * `pkgway worker` runs the background job workers alone (no HTTP), until SIGTERM or SIGINT. It may run next to
 * `pkgway serve` (with or without in-process workers) and other `pkgway worker`s on the same catalog and storage.
 * On a signal it stops claiming, lets running jobs finish (or hands them back to the queue) and exits 0.
 */
export function workerCommand(program: Command) {
  program
    .command('worker')
    .description('run background job workers (upload processing) until SIGTERM')
    .option('--concurrency <n>', 'jobs run at once (default: workers.concurrency)', (v) => {
      const n = Number(v)
      if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`--concurrency must be 1..64 (got ${v})`)
      return n
    })
    .action(
      run(async (opts: { concurrency?: number }, command: Command) => {
        // Loaded on use, so other commands start fast.
        const [
          { default: pino },
          { openSigningKeys },
          { openCatalog },
          { watchCatalogHealth },
          { createBlobStore },
          { startWorkers },
        ] = await Promise.all([
          import('pino'),
          import('../gateway/catalog/signing-keys.ts'),
          import('../gateway/catalog/db.ts'),
          import('../gateway/catalog/health.ts'),
          import('../gateway/storage/index.ts'),
          import('../workers/index.ts'),
        ])
        const config = configFor(command)
        const log = pino({ level: config.logLevel, base: { pid: process.pid, role: 'worker' } })
        const catalog = await openCatalog(config.databaseUrl)
        let blobs: Awaited<ReturnType<typeof createBlobStore>>
        try {
          await catalog.migrate()
          blobs = await createBlobStore(config, await openSigningKeys(catalog.db, config))
          await blobs.check()
        } catch (err) {
          await catalog.close().catch(() => {})
          throw err
        }
        const unwatch = watchCatalogHealth(catalog, log)
        const metrics = await serveWorkerMetrics(config, catalog)
        const workers = startWorkers({
          catalog,
          blobs,
          config: { ...config.workers, ...(opts.concurrency ? { concurrency: opts.concurrency } : {}) },
          log,
        })
        process.stdout.write(`pkgway: worker ${workers.id} running\n`)
        if (metrics) process.stdout.write(`pkgway: metrics on ${metrics.url}\n`)
        await new Promise<void>((resolve) => {
          const stop = (signal: string) => {
            log.info({ signal }, 'shutting down')
            resolve()
          }
          process.once('SIGTERM', () => stop('SIGTERM'))
          process.once('SIGINT', () => stop('SIGINT'))
        })
        await workers.stop()
        await metrics?.close()
        unwatch()
        await catalog.close().catch(() => {})
        process.exit(0)
      }),
    )
}
