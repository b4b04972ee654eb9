import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestGateway, type TestGateway } from '../helpers/app.ts'
import { seedLicense, seedPolicy, seedProduct, seedRelease, seedToken } from '../helpers/seed.ts'
import { seedFile } from '../engines/pypi/fixtures.ts'

const KEY = 'INSTANCE-KEY-0000-0001'
/** Writes must be seen by the other instance within 1 s; the check polls every 25 ms up to this deadline. */
const DEADLINE_MS = 1000
/** With the listener down, the poll runs once per second: allow one poll interval plus the poll itself. */
const DEADLINE_WITHOUT_LISTENER_MS = 1250

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`

/** waitFor polls until check() is true and returns how long that took, or fails after the deadline. */
async function waitFor(check: () => Promise<boolean>, deadline: number): Promise<number> {
  const start = Date.now()
  while (Date.now() - start <= deadline) {
    if (await check()) return Date.now() - start
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`not seen within ${deadline} ms`)
}

/**
 * Two gateway instances on one PostgreSQL database and one s3rver bucket, as behind a load balancer: a write
 * through A is served (or denied) by B within 1 s, by LISTEN/NOTIFY, and by the revision poll while B's
 * LISTEN connection is down.
 */
describe('two instances on one PostgreSQL and one s3rver', () => {
  let a: TestGateway
  let b: TestGateway
  let productId: string
  let licenseId: string
  const admin = () => ({ authorization: `Bearer ${a.adminToken}`, 'content-type': 'application/vnd.api+json' })

  beforeAll(async () => {
    a = await createTestGateway({ catalog: 'postgres', storage: 's3' })
    b = await createTestGateway({ peer: a })
    const db = a.catalog.db
    const product = await seedProduct(db, a.account, { strategy: 'LICENSED', code: 'multi' })
    productId = product.id
    const policy = await seedPolicy(db, a.account, { product, authenticationStrategy: 'MIXED' })
    licenseId = (await seedLicense(db, a.account, { policy, key: KEY })).id
  })

  afterAll(async () => {
    await b?.close()
    await a?.close()
  })

  const rawOnB = (version: string, auth = basic('license', KEY)) =>
    b.app.inject({ url: `/v1/engines/raw/multi/${version}/app.tar.gz`, headers: { authorization: auth } })

  async function publishOnA(version: string) {
    const release = await seedRelease(a.catalog.db, a.account, { product: productId, version, status: 'DRAFT' })
    await seedFile(a.catalog.db, a.account, { release, filename: 'app.tar.gz' })
    expect((await rawOnB(version)).statusCode).toBe(404)
    const res = await a.app.inject({
      method: 'POST',
      url: `/v1/releases/${release.id}/actions/publish`,
      headers: admin(),
    })
    expect(res.statusCode).toBe(200)
  }

  async function killListenerOf(gw: TestGateway) {
    await waitFor(async () => gw.catalog.revisions.listening, 3000)
    const pid = gw.catalog.revisions.listenerPid
    expect(pid).not.toBeNull()
    await sql`select pg_terminate_backend(${pid})`.execute(a.catalog.db)
    await waitFor(async () => !gw.catalog.revisions.listening, 1000)
  }

  it('serves on B a release published on A within 1 s', async () => {
    await publishOnA('1.0.0')
    await waitFor(async () => (await rawOnB('1.0.0')).statusCode === 303, DEADLINE_MS)
  })

  it('denies on B a license suspended on A within 1 s', async () => {
    expect((await rawOnB('1.0.0')).statusCode).toBe(303)
    const res = await a.app.inject({
      method: 'POST',
      url: `/v1/licenses/${licenseId}/actions/suspend`,
      headers: admin(),
    })
    expect(res.statusCode).toBe(200)
    await waitFor(async () => (await rawOnB('1.0.0')).statusCode === 403, DEADLINE_MS)
    const back = await a.app.inject({
      method: 'POST',
      url: `/v1/licenses/${licenseId}/actions/reinstate`,
      headers: admin(),
    })
    expect(back.statusCode).toBe(200)
    await waitFor(async () => (await rawOnB('1.0.0')).statusCode === 303, DEADLINE_MS)
  })

  it('denies on B a token revoked on A within 1 s', async () => {
    const { row, raw } = await seedToken(a.catalog.db, a.account, { bearerType: 'product', bearer: { id: productId } })
    expect((await rawOnB('1.0.0', `Bearer ${raw}`)).statusCode).toBe(303)
    const res = await a.app.inject({ method: 'DELETE', url: `/v1/tokens/${row.id}`, headers: admin() })
    expect(res.statusCode).toBe(204)
    await waitFor(async () => (await rawOnB('1.0.0', `Bearer ${raw}`)).statusCode === 401, DEADLINE_MS)
  })

  describe("with B's LISTEN connection killed", () => {
    it('still serves a publish, and denies a suspension and a revoked token, within a poll interval', async () => {
      await killListenerOf(b)
      await publishOnA('2.0.0')
      await waitFor(async () => (await rawOnB('2.0.0')).statusCode === 303, DEADLINE_WITHOUT_LISTENER_MS)

      await killListenerOf(b)
      const { row, raw } = await seedToken(a.catalog.db, a.account, {
        bearerType: 'product',
        bearer: { id: productId },
      })
      expect((await rawOnB('2.0.0', `Bearer ${raw}`)).statusCode).toBe(303)
      await a.app.inject({ method: 'DELETE', url: `/v1/tokens/${row.id}`, headers: admin() })
      await waitFor(
        async () => (await rawOnB('2.0.0', `Bearer ${raw}`)).statusCode === 401,
        DEADLINE_WITHOUT_LISTENER_MS,
      )

      await killListenerOf(b)
      await a.app.inject({ method: 'POST', url: `/v1/licenses/${licenseId}/actions/suspend`, headers: admin() })
      await waitFor(async () => (await rawOnB('2.0.0')).statusCode === 403, DEADLINE_WITHOUT_LISTENER_MS)
    })

    it('listens again once the connection can be made', async () => {
      await waitFor(async () => b.catalog.revisions.listening, 3000)
    })
  })
})
