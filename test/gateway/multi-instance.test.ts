import { mkdtempSync } from 'node:fs'
import { readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../config/load.ts'
import { type RunningServer, startServer } from '../../gateway/server.ts'
import { testDatabaseUrl } from '../helpers/catalog.ts'
import { seedProduct, seedRelease } from '../helpers/seed.ts'

const ADMIN = `admin-${'m'.repeat(40)}v3`

/**
 * Two gateway instances on one PostgreSQL catalog and one blob root, as behind a load balancer, with no
 * signingSecret configured: they share the signing key kept in the catalog.
 */
describe('two instances on one PostgreSQL catalog without a configured signingSecret', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pkgway-multi-'))
  const databaseUrl = testDatabaseUrl('postgres')
  let a: RunningServer
  let b: RunningServer

  const start = (name: string) =>
    startServer(
      loadConfig({
        env: {},
        overrides: {
          host: '127.0.0.1',
          port: 0,
          databaseUrl,
          dataDir: join(dir, name),
          storage: { kind: 'filesystem', root: join(dir, 'blobs') },
          logLevel: 'silent',
          bootstrapAdminToken: ADMIN,
          workers: { inProcess: false },
        },
      }),
      { handleSignals: false },
    )

  beforeAll(async () => {
    ;[a, b] = await Promise.all([start('a'), start('b')])
  })

  afterAll(async () => {
    await b?.close()
    if (a) {
      const schema = new URL(databaseUrl).searchParams.get('schema')!
      await sql.raw(`drop schema if exists ${schema} cascade`).execute(a.catalog.db)
      await a.close()
    }
    await rm(dir, { recursive: true, force: true })
  })

  it('accepts on instance B an unsized upload URL created by instance A', async () => {
    const db = a.catalog.db
    const account = await db.selectFrom('accounts').selectAll().executeTakeFirstOrThrow()
    const product = await seedProduct(db, account, { strategy: 'OPEN' })
    const release = await seedRelease(db, account, { product })
    const created = await fetch(`${a.url}/v1/artifacts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/vnd.api+json', prefer: 'no-redirect' },
      body: JSON.stringify({
        data: {
          type: 'artifacts',
          attributes: { filename: 'app.bin' },
          relationships: { release: { data: { type: 'releases', id: release.id } } },
        },
      }),
    })
    expect(created.status).toBe(200)
    const location = new URL(created.headers.get('location')!)
    expect(location.origin).toBe(new URL(a.url).origin)
    expect(location.pathname).toMatch(new RegExp(`^/v1/blobs/uploads/${account.id}/${release.id}/[0-9a-f-]{36}$`))

    const onB = `${b.url}${location.pathname}${location.search}`
    const put = await fetch(onB, { method: 'PUT', body: 'hello from A' })
    expect(put.status).toBe(200)
    const key = location.pathname.slice('/v1/blobs/'.length)
    expect(await readFile(join(dir, 'blobs', ...key.split('/')), 'utf8')).toBe('hello from A')
    // The signature still covers method and key on B: a tampered URL is refused there as well.
    const tampered = onB.replace(key, `${key.slice(0, -1)}${key.endsWith('0') ? '1' : '0'}`)
    expect((await fetch(tampered, { method: 'PUT', body: 'x' })).status).toBe(403)
  })
})
