import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../config/load.ts'
import { buildApp, loggerOptions } from '../../gateway/app.ts'
import { bootstrap } from '../../gateway/catalog/bootstrap.ts'
import { type Catalog, openCatalog } from '../../gateway/catalog/db.ts'
import { isCatalogUnavailable } from '../../gateway/catalog/health.ts'
import { outageOf } from '../../gateway/outage.ts'
import { BlobStoreError } from '../../gateway/storage/blob-store.ts'
import { createBlobStore } from '../../gateway/storage/index.ts'
import { createTestGateway, type TestGateway } from '../helpers/app.ts'
import { type S3Server, s3Credentials, startS3rver } from '../helpers/s3rver.ts'
import { seedArtifact, seedPackage, seedProduct, seedRelease } from '../helpers/seed.ts'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts'

const ADMIN = `admin-${'o'.repeat(40)}v3`
const PASSWORD = 'pw-never-in-logs'

interface ProxiedGateway {
  proxy: TcpProxy
  catalog: Catalog
  app: FastifyInstance
  account: { id: string }
  close(): Promise<void>
}

/**
 * gatewayBehindProxy starts a gateway whose PostgreSQL catalog (a schema of its own) sits behind a TCP proxy, so
 * a test can make it refuse connections, hang, and come back; the gateway's log lines go to lines.
 */
async function gatewayBehindProxy(lines: Record<string, unknown>[]): Promise<ProxiedGateway> {
  const proxy = await startTcpProxy({ host: '127.0.0.1', port: 5432 })
  const dir = await mkdtemp(join(tmpdir(), 'pkgway-outage-'))
  const schema = `t_${randomBytes(6).toString('hex')}`
  const databaseUrl = `postgres://postgres:${PASSWORD}@${proxy.address}/test?schema=${schema}`
  const config = loadConfig({
    env: {},
    overrides: { databaseUrl, dataDir: dir, signingSecret: 's'.repeat(40), workers: { inProcess: false } },
  })
  const catalog = await openCatalog(databaseUrl)
  await catalog.migrate()
  const { account } = await bootstrap(catalog, ADMIN)
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line))
      callback()
    },
  })
  const blobs = await createBlobStore(config, config.signingSecret!)
  const app = await buildApp({
    config,
    catalog,
    blobs,
    signingSecret: config.signingSecret!,
    logger: { ...(loggerOptions(config) as object), stream },
  })
  await app.ready()
  return {
    proxy,
    catalog,
    app,
    account,
    async close() {
      await proxy.setMode('up')
      await app.close()
      await sql.raw(`drop schema if exists ${schema} cascade`).execute(catalog.db)
      await catalog.close()
      await proxy.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** A gateway whose catalog is taken away, and what every kind of client gets meanwhile. */
describe('catalog outages', () => {
  let proxy: TcpProxy
  let app: FastifyInstance
  let gateway: ProxiedGateway | undefined
  const lines: Record<string, unknown>[] = []

  beforeAll(async () => {
    gateway = await gatewayBehindProxy(lines)
    ;({ proxy, app } = gateway)
  })
  afterAll(async () => {
    await gateway?.close()
  })

  const admin = { authorization: `Bearer ${ADMIN}` }
  const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers })
  /** Credentials this instance has never resolved, so resolving them needs the catalog. */
  const unseen = (tag: string) => ({ authorization: `Bearer admin-${tag.repeat(64)}v3` })
  const unseenKey = (tag: string) => ({
    authorization: `Basic ${Buffer.from(`license:UNSEEN-${tag.repeat(16)}`).toString('base64')}`,
  })
  const expectJsonApi503 = (res: LightMyRequestResponse) => {
    expect(res.statusCode).toBe(503)
    expect(res.headers['retry-after']).toBe('5')
    expect(res.headers['content-type']).toBe('application/vnd.api+json; charset=utf-8')
    expect(res.json().errors).toEqual([
      {
        title: 'Service unavailable',
        detail: 'The catalog is unavailable; try again later',
        code: 'CATALOG_UNAVAILABLE',
      },
    ])
  }
  const expectPlainText503 = (res: LightMyRequestResponse) => {
    expect(res.statusCode).toBe(503)
    expect(res.headers['retry-after']).toBe('5')
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(res.body).toBe('Service Unavailable: The catalog is unavailable; try again later')
  }
  const healthLines = () => lines.filter((l) => /^catalog (unavailable|available again)$/.test(String(l.msg)))

  it('is ready while the catalog answers', async () => {
    const res = await get('/readyz')
    expect(res.statusCode).toBe(200)
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.json()).toEqual({ status: 'ready', checks: { catalog: 'up', storage: 'up' } })
    expect((await get('/v1/products', admin)).statusCode).toBe(200)
  })

  it('answers 503 with Retry-After in each client’s format while the catalog refuses connections', async () => {
    await proxy.setMode('refuse')
    const ready = await get('/readyz')
    expect(ready.statusCode).toBe(503)
    expect(ready.headers['retry-after']).toBe('5')
    expect(ready.json()).toEqual({
      status: 'unavailable',
      down: ['catalog'],
      checks: { catalog: 'down', storage: 'up' },
    })
    // What this instance has read before is served from memory; a credential it has never seen needs the catalog.
    expect((await get('/v1/products', admin)).statusCode).toBe(200)
    expectJsonApi503(await get('/v1/products', unseen('T')))
    expectJsonApi503(await get('/v1/accounts/default/releases', unseen('U')))
    expectJsonApi503(
      await app.inject({
        method: 'POST',
        url: '/v1/products',
        headers: { ...admin, 'content-type': 'application/vnd.api+json' },
        payload: { data: { type: 'products', attributes: { name: 'During the outage' } } },
      }),
    )
    expectJsonApi503(await get('/v1/engines/raw/app/1.0.0/app.tar.gz', unseenKey('R')))
    expectPlainText503(await get('/v1/engines/pypi/simple/', unseenKey('P')))
    expectPlainText503(await get('/v1/engines/pypi/simple/some-project/', unseenKey('Q')))
    // Liveness does not depend on the catalog: the instance is out of rotation, not dead.
    expect((await get('/healthz')).statusCode).toBe(200)
  })

  it('logs the outage once, without the database password, and nothing at error level', async () => {
    expect(healthLines()).toEqual([
      expect.objectContaining({
        level: 40,
        msg: 'catalog unavailable',
        catalog: 'postgres',
        reason: expect.stringMatching(/ECONNREFUSED|Connection terminated/),
      }),
    ])
    expect(JSON.stringify(lines)).not.toContain(PASSWORD)
    expect(lines.filter((l) => Number(l.level) >= 50)).toEqual([])
  })

  it('never hangs while the catalog accepts connections and never answers: readiness in about a second', async () => {
    await proxy.setMode('hang')
    const t0 = Date.now()
    const ready = await get('/readyz')
    expect(ready.statusCode).toBe(503)
    expect(Date.now() - t0).toBeLessThan(4_000)
    // A query waits at most the pool's connection timeout (5 s), then gets its 503.
    expectJsonApi503(await get('/v1/products', unseen('H')))
  }, 20_000)

  it('recovers without a restart, and logs that once', async () => {
    await proxy.setMode('up')
    const ready = await get('/readyz')
    expect(ready.statusCode).toBe(200)
    expect((await get('/v1/products', admin)).statusCode).toBe(200)
    // Back means a second of queries without a failure (SETTLE_MS), so that a flapping server is one outage.
    await new Promise((resolve) => setTimeout(resolve, 1_100))
    expect((await get('/readyz')).statusCode).toBe(200)
    expect(healthLines().map((l) => l.msg)).toEqual(['catalog unavailable', 'catalog available again'])
  })
})

describe('storage outages', () => {
  let s3: S3Server
  let gw: TestGateway
  let stopped = false

  beforeAll(async () => {
    s3 = await startS3rver()
    gw = await createTestGateway({
      config: {
        storage: {
          kind: 's3',
          s3: { bucket: s3.bucket, endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', ...s3Credentials },
        },
      },
    })
  })

  afterAll(async () => {
    await gw?.close()
    if (!stopped) await s3?.close()
  })

  it('answers an upload through the gateway with 503 and Retry-After while S3 is down', async () => {
    const product = await seedProduct(gw.catalog.db, gw.account)
    const release = await seedRelease(gw.catalog.db, gw.account, { product })
    const created = await gw.app.inject({
      method: 'POST',
      url: '/v1/artifacts',
      headers: {
        authorization: `Bearer ${gw.adminToken}`,
        'content-type': 'application/vnd.api+json',
        prefer: 'no-redirect',
      },
      payload: {
        data: {
          type: 'artifacts',
          attributes: { filename: 'unsized.bin' },
          relationships: { release: { data: { type: 'releases', id: release.id } } },
        },
      },
    })
    expect(created.statusCode).toBe(200)
    const location = new URL(created.headers.location as string)
    await s3.close()
    stopped = true
    const res = await gw.app.inject({ method: 'PUT', url: location.pathname + location.search, payload: 'bytes' })
    expect(res.statusCode).toBe(503)
    expect(res.headers['retry-after']).toBe('5')
    expect(res.json().errors).toEqual([
      {
        title: 'Service unavailable',
        detail: 'The storage backend is unavailable; try again later',
        code: 'STORAGE_UNAVAILABLE',
      },
    ])
  }, 30_000)
})

describe('outageOf', () => {
  it('takes only errors of the catalog driver for catalog outages', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })
    expect(isCatalogUnavailable(refused)).toBe(false)
    expect(outageOf(refused)).toBeNull()
  })

  it('takes storage failures that a retry may cure for storage outages, and refusals for 502s', () => {
    const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.2:9000'), { code: 'ECONNREFUSED' })
    expect(outageOf(new BlobStoreError('s3', 'PutObject failed', down))).toBe('storage')
    const slow = Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown' })
    expect(outageOf(new BlobStoreError('s3', 'PutObject failed', slow))).toBe('storage')
    const denied = Object.assign(new Error('Access Denied'), {
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
    })
    expect(outageOf(new BlobStoreError('s3', 'PutObject failed', denied))).toBeNull()
    const full = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' })
    expect(outageOf(new BlobStoreError('filesystem', 'write failed', full))).toBe('storage')
  })
})

/**
 * A write, then a read of the account after it, then the catalog goes away: a page whose files were read before
 * the write but not after it must still be served, from what was read before (stale if error).
 */
describe('warm reads when the catalog goes away right after a write', () => {
  const lines: Record<string, unknown>[] = []
  let gateway: ProxiedGateway | undefined
  afterAll(async () => {
    await gateway?.close()
  })

  it('serves the pages read before the write, and the write once the catalog is back', async () => {
    gateway = await gatewayBehindProxy(lines)
    const { app, catalog, proxy, account } = gateway
    const product = await seedProduct(catalog.db, account, { strategy: 'OPEN', code: 'app' })
    const pkg = await seedPackage(catalog.db, account, { product, key: 'demo-pkg', engine: 'pypi' })
    const wheel = (version: string) => `demo_pkg-${version}-py3-none-any.whl`
    for (const [version, status] of [
      ['1.0.0', 'PUBLISHED'],
      ['1.1.0', 'DRAFT'],
    ] as const) {
      const release = await seedRelease(catalog.db, account, { product, package: pkg, version, status })
      await seedArtifact(catalog.db, account, { release, filename: wheel(version), sha256: 'a'.repeat(64) })
    }
    const draft = await catalog.db
      .selectFrom('releases')
      .select('id')
      .where('version', '=', '1.1.0')
      .executeTakeFirstOrThrow()
    const html = { accept: 'text/html' }
    const page = () => app.inject({ url: '/v1/engines/pypi/simple/demo-pkg/', headers: html })

    const before = await page()
    expect(before.statusCode).toBe(200)
    expect(before.body).toContain(wheel('1.0.0'))
    expect(before.body).not.toContain(wheel('1.1.0'))
    const published = await app.inject({
      method: 'POST',
      url: `/v1/releases/${draft.id}/actions/publish`,
      headers: { authorization: `Bearer ${ADMIN}` },
    })
    expect(published.statusCode, published.body).toBe(200)
    // The index reads the account as of the publish, but not the project's files.
    expect((await app.inject({ url: '/v1/engines/pypi/simple/', headers: html })).statusCode).toBe(200)

    await proxy.setMode('refuse')
    for (let i = 0; i < 3; i++) {
      const stale = await page()
      expect(stale.statusCode, stale.body).toBe(200)
      expect(stale.body).toBe(before.body)
      expect(stale.headers.etag).toBe(before.headers.etag)
    }

    await proxy.setMode('up')
    const after = await page()
    expect(after.statusCode, after.body).toBe(200)
    expect(after.body).toContain(wheel('1.0.0'))
    expect(after.body).toContain(wheel('1.1.0'))
  })
})
