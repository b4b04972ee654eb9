import { mkdtempSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { loadConfig } from '../../config/load.ts'
import type { ConfigInput, PkgwayConfig } from '../../config/schema.ts'
import { buildApp } from '../../gateway/app.ts'
import { bootstrap } from '../../gateway/catalog/bootstrap.ts'
import type { Catalog } from '../../gateway/catalog/db.ts'
import type { AccountRow } from '../../gateway/catalog/types.ts'
import type { BlobStore } from '../../gateway/storage/blob-store.ts'
import { createBlobStore } from '../../gateway/storage/index.ts'
import { type CatalogKind, openTestCatalog } from './catalog.ts'
import { type S3Server, s3Credentials, startS3rver } from './s3rver.ts'

export interface TestGateway {
  app: FastifyInstance
  config: PkgwayConfig
  catalog: Catalog
  blobs: BlobStore
  account: AccountRow
  adminToken: string
  /** Base URL when listening (`http://127.0.0.1:<port>`), else ''. */
  url: string
  close(): Promise<void>
}

export interface TestGatewayOptions {
  catalog?: CatalogKind
  storage?: 'filesystem' | 's3'
  /** Listen on 127.0.0.1 (port 0) for real clients; inject() works either way. */
  listen?: boolean
  config?: ConfigInput
}

/**
 * createTestGateway builds a whole gateway on a fresh catalog and blob store: SQLite or PostgreSQL, filesystem
 * or a real s3rver on 127.0.0.2. The admin token of the bootstrapped default account is returned.
 */
export async function createTestGateway(opts: TestGatewayOptions = {}): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'pkgway-test-'))
  let s3: S3Server | undefined
  if (opts.storage === 's3') s3 = await startS3rver()
  const config = loadConfig({
    env: {},
    overrides: {
      host: '127.0.0.1',
      port: 0,
      dataDir: dir,
      logLevel: 'silent',
      signingSecret: 'test-signing-secret-0123456789abcdef',
      ...opts.config,
      storage: {
        ...(s3
          ? {
              kind: 's3' as const,
              s3: {
                bucket: s3.bucket,
                endpoint: s3.endpoint,
                forcePathStyle: true,
                region: 'us-east-1',
                ...s3Credentials,
              },
            }
          : { kind: 'filesystem' as const, root: join(dir, 'blobs') }),
        ...opts.config?.storage,
      },
      workers: { inProcess: false, ...opts.config?.workers },
    },
  })
  const catalog = await openTestCatalog(opts.catalog ?? 'sqlite')
  const boot = await bootstrap(catalog)
  const blobs = await createBlobStore(config, config.signingSecret!)
  const app = await buildApp({ config, catalog, blobs, signingSecret: config.signingSecret!, logger: false })
  let url = ''
  if (opts.listen) url = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('localhost', '127.0.0.1')
  return {
    app,
    config,
    catalog,
    blobs,
    account: boot.account,
    adminToken: boot.createdToken!,
    url,
    async close() {
      await app.close()
      await catalog.close()
      await s3?.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
