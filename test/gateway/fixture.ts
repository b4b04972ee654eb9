import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../config/load.ts'
import type { ConfigInput, PkgwayConfig } from '../../config/schema.ts'
import type { PkgwayOptions } from '../../gateway/app.ts'
import { openCatalog } from '../../gateway/catalog/db.ts'
import { FilesystemStore } from '../../gateway/storage/filesystem-store.ts'

export const TEST_SIGNING_SECRET = 'test-signing-secret-0123456789abcdef'

export interface GatewayServices extends PkgwayOptions {
  signingSecret: string
  config: PkgwayConfig
  blobs: FilesystemStore
  /** Temporary directory holding the SQLite catalog and the blob root. */
  dir: string
  close(): Promise<void>
}

/**
 * openGatewayServices gives the gateway's services (a fresh SQLite catalog and filesystem store in a temporary
 * directory) without an app, for tests that compose the gateway themselves: mounted under a prefix, with extra
 * routes, or with a custom logger. Whole gateways come from test/helpers/app.ts.
 */
export async function openGatewayServices(overrides: ConfigInput = {}): Promise<GatewayServices> {
  const dir = await mkdtemp(join(tmpdir(), 'pkgway-gw-'))
  const config = loadConfig({
    env: {},
    overrides: { dataDir: dir, signingSecret: TEST_SIGNING_SECRET, logLevel: 'silent', ...overrides },
  })
  const catalog = await openCatalog(config.databaseUrl)
  await catalog.migrate()
  const blobs = new FilesystemStore({
    root: config.storage.root,
    signingSecret: TEST_SIGNING_SECRET,
    presignTtl: config.storage.presignTtl,
    uploadTtl: config.storage.uploadTtl,
  })
  return {
    config,
    catalog,
    blobs,
    signingSecret: TEST_SIGNING_SECRET,
    dir,
    async close() {
      await catalog.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
