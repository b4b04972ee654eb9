import { mkdtempSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely'
import { loadConfig } from '../../config/load.ts'
import type { ConfigInput, PkgwayConfig } from '../../config/schema.ts'
import { buildApp, loggerOptions } from '../../gateway/app.ts'
import { bootstrap } from '../../gateway/catalog/bootstrap.ts'
import { type Catalog, openCatalog } from '../../gateway/catalog/db.ts'
import { registerFeed } from '../../gateway/catalog/revision-feed.ts'
import type { Account } from '../../gateway/catalog/types.ts'
import type { BlobStore } from '../../gateway/storage/blob-store.ts'
import { createBlobStore } from '../../gateway/storage/index.ts'
import { type CatalogKind, openTestCatalog } from './catalog.ts'
import { type S3Server, s3Credentials, startS3rver } from './s3rver.ts'

/** counted is the catalog with a statement counter on its query builder; writes still reach its revision feed. */
function counted(catalog: Catalog, counter: StatementCounter): Catalog {
  const db = catalog.db.withPlugin(counter)
  registerFeed(db, catalog.revisions)
  return { ...catalog, db }
}

export interface TestGateway {
  app: FastifyInstance
  databaseUrl: string
  config: PkgwayConfig
  catalog: Catalog
  blobs: BlobStore
  account: Account
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
  /**
   * Another instance of `peer`'s gateway: the same database (through its own connections and revision feed) and
   * the same blob store, as two instances behind one load balancer.
   */
  peer?: TestGateway
  /** Counts every statement the gateway sends to the catalog (the revision feed's own polls excluded). */
  counter?: StatementCounter
  /** Receives the gateway's log lines (JSON, the production logger options) from `warn` up; none otherwise. */
  log?: Writable
}

/** StatementCounter is a kysely plugin that counts the statements executed through the builder it wraps. */
export class StatementCounter implements KyselyPlugin {
  count = 0
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.count++
    return args.node
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result
  }
}

/**
 * createTestGateway builds a whole gateway on a fresh catalog and blob store: SQLite or PostgreSQL, filesystem
 * or a real s3rver on 127.0.0.2. The admin token of the bootstrapped default account is returned.
 */
export async function createTestGateway(opts: TestGatewayOptions = {}): Promise<TestGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'pkgway-test-'))
  let s3: S3Server | undefined
  if (opts.storage === 's3' && !opts.peer) s3 = await startS3rver()
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
        ...opts.peer?.config.storage,
      },
      workers: { inProcess: false, ...opts.config?.workers },
    },
  })
  const catalog = opts.peer
    ? { ...(await openCatalog(opts.peer.databaseUrl)), url: opts.peer.databaseUrl }
    : await openTestCatalog(opts.catalog ?? 'sqlite')
  const boot = opts.peer ? { account: opts.peer.account, createdToken: opts.peer.adminToken } : await bootstrap(catalog)
  const blobs = await createBlobStore(config, config.signingSecret!)
  const served = opts.counter ? counted(catalog, opts.counter) : catalog
  const logger = opts.log ? { ...(loggerOptions(config) as object), level: 'warn', stream: opts.log } : false
  const app = await buildApp({ config, catalog: served, blobs, signingSecret: config.signingSecret!, logger })
  let url = ''
  if (opts.listen) url = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('localhost', '127.0.0.1')
  return {
    app,
    databaseUrl: catalog.url,
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
