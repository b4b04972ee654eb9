import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestGateway, type TestGateway } from '../helpers/app.ts'
import { seedLicense, seedPolicy, seedProduct, seedRelease } from '../helpers/seed.ts'

/** GET /v1/releases/:id/upgrade, the Go SDK's upgrade path (management-api.md §2.5). */

let gw: TestGateway
const KEY = 'UPGRADE-KEY-1'

beforeAll(async () => {
  gw = await createTestGateway()
  const { db } = gw.catalog
  const product = await seedProduct(gw.catalog.db, gw.account, { code: 'app' })
  const policy = await seedPolicy(db, gw.account, { product, authenticationStrategy: 'LICENSE' })
  await seedLicense(db, gw.account, { policy, key: KEY })
  for (const [version, channel, status] of [
    ['1.0.0', 'stable', 'PUBLISHED'],
    ['1.0.1', 'stable', 'PUBLISHED'],
    ['1.1.0', 'stable', 'PUBLISHED'],
    ['1.2.0-beta.1', 'beta', 'PUBLISHED'],
    ['2.0.0', 'stable', 'PUBLISHED'],
    ['3.0.0', 'stable', 'DRAFT'],
  ] as const) {
    await seedRelease(db, gw.account, { product, version, channel, status })
  }
})
afterAll(async () => {
  await gw?.close()
})

const upgrade = (qs: string) =>
  gw.app.inject({
    method: 'GET',
    url: `/v1/releases/1.0.0/upgrade?product=app${qs}`,
    headers: { authorization: `License ${KEY}` },
  })

describe('GET /v1/releases/:id/upgrade', () => {
  it('returns the highest published release of the same channel with meta current/next', async () => {
    const res = await upgrade('')
    expect(res.statusCode).toBe(200)
    expect(res.json().data.attributes.version).toBe('2.0.0')
    expect(res.json().meta).toEqual({ current: '1.0.0', next: '2.0.0' })
  })

  it('pins the major version with a major.minor constraint and the minor with a full version', async () => {
    expect((await upgrade('&constraint=1.0')).json().meta.next).toBe('1.1.0')
    expect((await upgrade('&constraint=1.0.0')).json().meta.next).toBe('1.0.1')
  })

  it('includes prereleases when a prerelease channel is asked for', async () => {
    expect((await upgrade('&channel=beta&constraint=1.0')).json().meta.next).toBe('1.2.0-beta.1')
  })

  it('answers 404 when there is no upgrade and 400 for an invalid constraint', async () => {
    const none = await gw.app.inject({
      method: 'GET',
      url: '/v1/releases/2.0.0/upgrade?product=app',
      headers: { authorization: `License ${KEY}` },
    })
    expect(none.statusCode).toBe(404)
    const bad = await upgrade('&constraint=banana')
    expect(bad.statusCode).toBe(400)
    expect(bad.json().errors[0]).toMatchObject({ code: 'CONSTRAINT_INVALID', source: { parameter: 'constraint' } })
  })
})

describe('release constraints', () => {
  it('attaches, lists and detaches entitlement constraints, hiding the release from unentitled licenses', async () => {
    const auth = { authorization: `Bearer ${gw.adminToken}`, 'content-type': 'application/vnd.api+json' }
    const ent = await gw.app.inject({
      method: 'POST',
      url: '/v1/entitlements',
      headers: auth,
      payload: { data: { type: 'entitlements', attributes: { name: 'Pro', code: 'PRO' } } },
    })
    const entitlementId = ent.json().data.id
    const attach = await gw.app.inject({
      method: 'POST',
      url: '/v1/releases/2.0.0/constraints?product=app',
      headers: auth,
      payload: {
        data: [
          {
            type: 'constraints',
            relationships: { entitlement: { data: { type: 'entitlements', id: entitlementId } } },
          },
        ],
      },
    })
    expect(attach.statusCode).toBe(200)
    const constraintId = attach.json().data[0].id
    const listed = await gw.app.inject({
      method: 'GET',
      url: '/v1/releases/2.0.0/constraints?product=app',
      headers: auth,
    })
    expect(listed.json().data.map((c: { id: string }) => c.id)).toEqual([constraintId])
    expect((await upgrade('')).json().meta.next).toBe('1.1.0')
    const detach = await gw.app.inject({
      method: 'DELETE',
      url: '/v1/releases/2.0.0/constraints?product=app',
      headers: auth,
      payload: { data: [{ type: 'constraints', id: constraintId }] },
    })
    expect(detach.statusCode).toBe(204)
    expect((await upgrade('')).json().meta.next).toBe('2.0.0')
  })
})
