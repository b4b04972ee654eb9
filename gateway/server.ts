import type { FastifyInstance } from 'fastify'
import type { PkgwayConfig } from '../config/schema.ts'
import { buildApp } from './app.ts'
import { bootstrap } from './catalog/bootstrap.ts'
import { type Catalog, openCatalog } from './catalog/db.ts'
import type { Account } from './catalog/types.ts'
import { CatalogSigningKeys, openSigningKeys } from './catalog/signing-keys.ts'
import type { BlobStore } from './storage/blob-store.ts'
import { createBlobStore } from './storage/index.ts'
import { startTempSweeper } from './storage/sweeper.ts'
import { type MetricsServer, startMetricsServer } from './metrics-server.ts'

export interface RunningServer {
  app: FastifyInstance
  /** The default account. */
  account: Account
  url: string
  /** URL of the Prometheus listener (`metrics.port`), or null when it is off. */
  metricsUrl: string | null
  catalog: Catalog
  blobs: BlobStore
  close(): Promise<void>
}

/**
 * openServices opens and migrates the catalog, bootstraps the default account, loads the URL-signing keys
 * (the configured secret, else the catalog's) and checks the blob store.
 */
export async function openServices(config: PkgwayConfig) {
  const catalog = await openCatalog(config.databaseUrl)
  let signingSecret: Awaited<ReturnType<typeof openSigningKeys>> | undefined
  try {
    await catalog.migrate()
    const boot = await bootstrap(catalog, config.bootstrapAdminToken)
    signingSecret = await openSigningKeys(catalog.db, config)
    const blobs = await createBlobStore(config, signingSecret)
    await blobs.check()
    return { catalog, blobs, signingSecret, boot }
  } catch (err) {
    if (signingSecret instanceof CatalogSigningKeys) signingSecret.stopRefresh()
    await catalog.close()
    throw err
  }
}

/**
 * startServer runs the gateway: services, app, listen. On SIGTERM/SIGINT it stops accepting connections,
 * lets in-flight requests finish, then closes the catalog.
 */
export async function startServer(
  config: PkgwayConfig,
  opts: { onAdminToken?: (token: string) => void; handleSignals?: boolean } = {},
): Promise<RunningServer> {
  const { catalog, blobs, signingSecret, boot } = await openServices(config)
  if (boot.createdToken) opts.onAdminToken?.(boot.createdToken)
  let app: FastifyInstance
  try {
    app = await buildApp({ config, catalog, blobs, signingSecret, storageReachable: true })
  } catch (err) {
    await catalog.close()
    throw err
  }
  const sweeper = await startTempSweeper(blobs, app.log)
  app.addHook('onClose', async () => {
    sweeper.stop()
    if (signingSecret instanceof CatalogSigningKeys) signingSecret.stopRefresh()
    await closeCatalog(catalog)
  })
  const metricsServer = await serveMetrics(app, config)
  // Request and header timeouts are set by buildApp (config.http); idle keep-alive connections close after 65 s.
  app.server.keepAliveTimeout = 65_000
  const url = await app.listen({ host: config.host, port: config.port })
  if (opts.handleSignals !== false) {
    const stop = (signal: string) => {
      app.log.info({ signal }, 'shutting down')
      app.close().then(
        () => process.exit(0),
        () => process.exit(1),
      )
    }
    process.once('SIGTERM', () => stop('SIGTERM'))
    process.once('SIGINT', () => stop('SIGINT'))
  }
  return {
    app,
    account: boot.account,
    url,
    metricsUrl: metricsServer?.url ?? null,
    catalog,
    blobs,
    close: () => app.close(),
  }
}

/** serveMetrics starts the Prometheus listener when `metrics.port` is set; it closes with the app. */
async function serveMetrics(app: FastifyInstance, config: PkgwayConfig): Promise<MetricsServer | null> {
  const { host, port } = config.metrics
  if (port === undefined) return null
  let server: MetricsServer
  try {
    server = await startMetricsServer({ host, port })
  } catch (err) {
    await app.close()
    throw new Error(`cannot serve metrics on ${host}:${port}: ${(err as Error).message}`, { cause: err })
  }
  app.addHook('onClose', async () => server.close())
  return server
}

async function closeCatalog(catalog: Catalog) {
  await catalog.close().catch(() => {})
}
