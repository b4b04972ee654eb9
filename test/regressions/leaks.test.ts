import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ReadModel } from '../../gateway/read-model/read-model.ts'
import { createTestGateway, type TestGateway } from '../helpers/app.ts'
import {
  ago,
  seedLicense,
  seedPackage,
  seedPolicy,
  seedProduct,
  seedRelease,
  seedToken,
  seedUser,
} from '../helpers/seed.ts'
import { seedFile } from '../engines/pypi/fixtures.ts'

const KEY = 'LEAK-KEY-0000-0000-0001'

/**
 * Leaks found by trying the gateway from outside (issue 10), each against real HTTP on both storage backends:
 * list routes that showed a suspended license its product's releases, and a PyPI file redirect that dropped the
 * query credentials so the next hop was anonymous.
 */
describe.each(['filesystem', 's3'] as const)('leaks closed (%s storage)', (storage) => {
  let gw: TestGateway
  const tokens: Record<string, string> = {}
  let wheel: { id: string; filename: string }
  let releaseId: string

  beforeAll(async () => {
    gw = await createTestGateway({ storage, listen: true })
    const db = gw.catalog.db
    const product = await seedProduct(db, gw.account, { strategy: 'LICENSED' })
    const pkg = await seedPackage(db, gw.account, { product, key: 'leak-pkg', engine: 'pypi' })
    const mixed = await seedPolicy(db, gw.account, { product, authenticationStrategy: 'MIXED' })
    const revoking = await seedPolicy(db, gw.account, {
      product,
      authenticationStrategy: 'MIXED',
      expirationStrategy: 'REVOKE_ACCESS',
    })
    const banned = await seedUser(db, gw.account, { banned: true })
    const licenses = {
      active: await seedLicense(db, gw.account, { policy: mixed, key: KEY }),
      suspended: await seedLicense(db, gw.account, { policy: mixed, suspended: true }),
      expired: await seedLicense(db, gw.account, { policy: revoking, expiry: ago({ days: 1 }) }),
      bannedOwner: await seedLicense(db, gw.account, { policy: mixed, owner: banned }),
    }
    for (const [name, license] of Object.entries(licenses)) {
      tokens[name] = (await seedToken(db, gw.account, { bearerType: 'license', bearer: license })).raw
    }
    const release = await seedRelease(db, gw.account, { product, package: pkg, version: '1.0.0', status: 'PUBLISHED' })
    releaseId = release.id
    const bytes = Buffer.from('wheel bytes')
    wheel = await seedFile(db, gw.account, {
      release,
      filename: 'leak_pkg-1.0.0-py3-none-any.whl',
      filesize: bytes.length,
    })
    await gw.blobs.write(`artifacts/${gw.account.id}/${release.id}/${wheel.filename}`, bytes)
  })

  afterAll(async () => {
    await gw?.close()
  })

  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(new URL(path, gw.url), { headers, redirect: 'manual' })

  const lists = () => [
    '/v1/releases',
    '/v1/artifacts',
    `/v1/accounts/${gw.account.id}/releases`,
    `/v1/accounts/${gw.account.id}/artifacts`,
  ]

  it('lists the release and its artifact to an active license token (the control)', async () => {
    for (const path of lists()) {
      const res = await get(path, { authorization: `Bearer ${tokens.active}` })
      expect(res.status, path).toBe(200)
      const ids = ((await res.json()) as { data: { id: string }[] }).data.map((d) => d.id)
      expect(ids, path).toContain(path.endsWith('releases') ? releaseId : wheel.id)
    }
  })

  it.each(['suspended', 'expired', 'bannedOwner'])('lists nothing to a %s license token', async (name) => {
    for (const path of lists()) {
      const res = await get(path, { authorization: `Bearer ${tokens[name]}` })
      expect(res.status, path).toBeLessThan(500)
      const body = await res.text()
      expect(body, path).not.toContain(releaseId)
      expect(body, path).not.toContain(wheel.id)
    }
  })

  it.each([`auth=license:${KEY}`, `token=license:${KEY}`])(
    'keeps ?%s on the PyPI file hop to the gateway, and off storage',
    async (query) => {
      const first = await get(`/v1/engines/pypi/files/${wheel.id}/${wheel.filename}?${query}`)
      expect(first.status).toBe(303)
      const hop = new URL(first.headers.get('location')!, gw.url)
      expect(hop.origin).toBe(new URL(gw.url).origin)
      expect(hop.search).toBe(`?${query}`)
      const second = await get(hop.pathname + hop.search)
      expect(second.status).toBe(303)
      const storageUrl = second.headers.get('location')!
      expect(storageUrl).not.toContain(KEY)
      const bytes = await fetch(new URL(storageUrl, gw.url))
      expect(bytes.status).toBe(200)
      expect(await bytes.text()).toBe('wheel bytes')
    },
  )

  it('reads accounts without their secret columns', async () => {
    const account = await new ReadModel(gw.catalog.db, gw.catalog.revisions).account(gw.account.id)
    expect(Object.keys(account!).sort()).toEqual(['created_at', 'id', 'name', 'slug', 'updated_at'])
  })
})
