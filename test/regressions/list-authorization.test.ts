import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ProductRow } from '../../gateway/catalog/types.ts'
import { createTestGateway, type TestGateway } from '../helpers/app.ts'
import {
  ago,
  seedArtifact,
  seedEntitlement,
  seedLicense,
  seedPolicy,
  seedProduct,
  seedRelease,
  seedToken,
  seedUser,
} from '../helpers/seed.ts'

/**
 * What the list routes show each kind of principal (issue 10): every release (and its artifact) a caller is
 * listed is one it could also read on its own, and nothing else. Releases: `old` and `new` of the LICENSED
 * product (`old` created before the expired licenses' expiry, `new` after), `gated` (constrained by an
 * entitlement only the entitled license holds), `draft`, `other` (another LICENSED product), `closed` (a CLOSED
 * product) and `open` (an OPEN product).
 */
type Name = 'old' | 'new' | 'gated' | 'draft' | 'other' | 'closed' | 'open'

const TABLE: [principal: string, visible: Name[]][] = [
  ['admin', ['old', 'new', 'gated', 'draft', 'other', 'closed', 'open']],
  ['product', ['old', 'new', 'gated', 'draft']],
  // A product token reaches its own product only, not even OPEN releases of others.
  ['other product', ['other']],
  ['license (owner)', ['old', 'new', 'open']],
  ['entitled license', ['old', 'new', 'gated', 'open']],
  ['user (licensee)', ['old', 'new', 'open']],
  ['suspended license', ['open']],
  ['expired REVOKE_ACCESS license', ['open']],
  ['expired RESTRICT_ACCESS license', ['old', 'open']],
  ['license of another product', ['other', 'open']],
  ['license of a CLOSED product', ['open']],
  ['anonymous', ['open']],
]

describe('list routes by principal', () => {
  let gw: TestGateway
  const releases = {} as Record<Name, string>
  const artifacts = {} as Record<Name, string>
  const auth: Record<string, Record<string, string>> = {}

  beforeAll(async () => {
    gw = await createTestGateway()
    const db = gw.catalog.db
    const account = gw.account
    const licensed = await seedProduct(db, account, { strategy: 'LICENSED' })
    const other = await seedProduct(db, account, { strategy: 'LICENSED' })
    const closed = await seedProduct(db, account, { strategy: 'CLOSED' })
    const open = await seedProduct(db, account, { strategy: 'OPEN' })
    const gate = await seedEntitlement(db, account)
    const expiry = ago({ days: 10 })
    const specs: [Name, string, Record<string, unknown>][] = [
      ['old', licensed.id, { createdAt: ago({ days: 20 }) }],
      ['new', licensed.id, { createdAt: ago({ days: 1 }) }],
      ['gated', licensed.id, { constraints: [gate] }],
      ['draft', licensed.id, { status: 'DRAFT' }],
      ['other', other.id, {}],
      ['closed', closed.id, {}],
      ['open', open.id, {}],
    ]
    for (const [name, product, extra] of specs) {
      const release = await seedRelease(db, account, { product, status: 'PUBLISHED', ...extra })
      releases[name] = release.id
      artifacts[name] = (await seedArtifact(db, account, { release, filename: `${name}.bin` })).id
    }
    const policy = (product: ProductRow, extra: Record<string, unknown> = {}) =>
      seedPolicy(db, account, { product, authenticationStrategy: 'MIXED', ...extra })
    const mixed = await policy(licensed)
    const token = async (license: { id: string }) =>
      (await seedToken(db, account, { bearerType: 'license', bearer: license })).raw
    const bearer = (raw: string) => ({ authorization: `Bearer ${raw}` })
    const owner = await seedUser(db, account)
    const licensee = await seedUser(db, account)
    const userLicense = await seedLicense(db, account, { policy: mixed, owner, users: [licensee] })
    const { raw: licenseeToken } = await seedToken(db, account, { bearerType: 'user', bearer: licensee })
    auth.admin = bearer(gw.adminToken)
    auth.product = bearer((await seedToken(db, account, { bearerType: 'product', bearer: licensed })).raw)
    auth['other product'] = bearer((await seedToken(db, account, { bearerType: 'product', bearer: other })).raw)
    auth['license (owner)'] = bearer(await token(userLicense))
    auth['entitled license'] = bearer(
      await token(await seedLicense(db, account, { policy: mixed, entitlements: [gate] })),
    )
    auth['user (licensee)'] = bearer(licenseeToken)
    auth['suspended license'] = bearer(await token(await seedLicense(db, account, { policy: mixed, suspended: true })))
    auth['expired REVOKE_ACCESS license'] = bearer(
      await token(
        await seedLicense(db, account, {
          policy: await policy(licensed, { expirationStrategy: 'REVOKE_ACCESS' }),
          expiry,
        }),
      ),
    )
    auth['expired RESTRICT_ACCESS license'] = bearer(
      await token(
        await seedLicense(db, account, {
          policy: await policy(licensed, { expirationStrategy: 'RESTRICT_ACCESS' }),
          expiry,
        }),
      ),
    )
    auth['license of another product'] = bearer(
      await token(await seedLicense(db, account, { policy: await policy(other) })),
    )
    auth['license of a CLOSED product'] = bearer(
      await token(await seedLicense(db, account, { policy: await policy(closed) })),
    )
    auth.anonymous = {}
  })

  afterAll(async () => {
    await gw?.close()
  })

  const listed = async (url: string, headers: Record<string, string>, ids: Record<Name, string>) => {
    const res = await gw.app.inject({ url: `${url}?page[size]=100&page[number]=1`, headers })
    expect(res.statusCode, url).toBe(200)
    const seen = new Set((res.json().data as { id: string }[]).map((d) => d.id))
    return (Object.keys(ids) as Name[]).filter((name) => seen.has(ids[name])).sort()
  }

  it.each(TABLE)('%s lists exactly its releases and their artifacts', async (principal, visible) => {
    const headers = auth[principal]
    const expected = [...visible].sort()
    expect(await listed('/v1/releases', headers, releases)).toEqual(expected)
    expect(await listed(`/v1/accounts/${gw.account.id}/releases`, headers, releases)).toEqual(expected)
    expect(await listed('/v1/artifacts', headers, artifacts)).toEqual(expected)
    expect(await listed(`/v1/accounts/${gw.account.id}/artifacts`, headers, artifacts)).toEqual(expected)
  })

  it.each(TABLE)('%s can read on its own every release it lists', async (principal, visible) => {
    for (const name of visible) {
      const res = await gw.app.inject({ url: `/v1/releases/${releases[name]}`, headers: auth[principal] })
      expect(res.statusCode, `${principal} → ${name}`).toBe(200)
    }
  })
})
