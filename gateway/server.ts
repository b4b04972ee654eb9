import type { FastifyInstance } from 'fastify'
import { resolveSigningSecret } from '../config/load.ts'
import type { PkgwayConfig } from '../config/schema.ts'
import { buildApp } from './app.ts'
import { bootstrap } from './catalog/bootstrap.ts'
import { type Catalog, openCatalog } from './catalog/db.ts'
import type { Account } from './catalog/types.ts'
import type { BlobStore } from './storage/blob-store.ts'
import { createBlobStore } from './storage/index.ts'

export interface RunningServer {
  app: FastifyInstance
  /** The default account. */
  account: Account
  url: string
  catalog: Catalog
  blobs: BlobStore
  close(): Promise<void>
}

/** openServices opens and migrates the catalog, bootstraps the default account and checks the blob store. */
export async function openServices(config: PkgwayConfig) {
  const signingSecret = resolveSigningSecret(config)
  const catalog = await openCatalog(config.databaseUrl)
  try {
    await catalog.migrate()
    const boot = await bootstrap(catalog, config.bootstrapAdminToken)
    const blobs = createBlobStore(config, signingSecret)
    await blobs.check()
    return { catalog, blobs, signingSecret, boot }
  } catch (err) {
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
    app = await buildApp({ config, catalog, blobs, signingSecret })
  } catch (err) {
    await catalog.close()
    throw err
  }
  app.addHook('onClose', async () => {
    await closeCatalog(catalog)
  })
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
  return { app, account: boot.account, url, catalog, blobs, close: () => app.close() }
}

async function closeCatalog(catalog: Catalog) {
  await catalog.close().catch(() => {})
}
