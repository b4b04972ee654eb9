import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findTokenByRaw, issueToken } from '../../gateway/auth/tokens.ts'
import { createAccount, findAccount, getRevisions, writeCatalog } from '../../gateway/catalog/accounts.ts'
import { bootstrap } from '../../gateway/catalog/bootstrap.ts'
import { type Catalog, CatalogError, newId, now, openCatalog } from '../../gateway/catalog/db.ts'
import { catalogKinds, openTestCatalog } from '../helpers/catalog.ts'

describe.each(catalogKinds)('catalog on %s', (kind) => {
  let catalog: Catalog
  beforeAll(async () => {
    catalog = await openTestCatalog(kind)
  })
  afterAll(async () => {
    await catalog.close()
  })

  it('applies migrations idempotently', async () => {
    await expect(catalog.migrate()).resolves.toBeUndefined()
  })

  it('bootstraps the default account and one admin token, once', async () => {
    const first = await bootstrap(catalog)
    expect(first.account.slug).toBe('default')
    expect(first.createdToken).toMatch(/^admin-[0-9a-f]{64}v3$/)
    const second = await bootstrap(catalog)
    expect(second.account.id).toBe(first.account.id)
    expect(second.createdToken).toBeNull()
    const token = await findTokenByRaw(catalog.db, first.account, first.createdToken!)
    expect(token?.bearer_type).toBe('admin')
    // Only the digest is stored.
    const rows = await catalog.db.selectFrom('tokens').select('digest').execute()
    expect(rows.every((r) => !r.digest.includes(first.createdToken!))).toBe(true)
  })

  it('installs a configured bootstrap token idempotently', async () => {
    const raw = `admin-${'ab'.repeat(32)}v3`
    const a = await bootstrap(catalog, raw)
    await bootstrap(catalog, raw)
    const tokens = await catalog.db.selectFrom('tokens').selectAll().where('name', '=', 'bootstrap').execute()
    expect(tokens.filter((t) => t.digest === tokens.find((x) => x.id)!.digest).length).toBe(1)
    expect(await findTokenByRaw(catalog.db, a.account, raw)).toBeDefined()
  })

  it('finds accounts by slug or UUID and bumps the revision on writes', async () => {
    const acct = await createAccount(catalog.db, `acme-${kind}`)
    expect((await findAccount(catalog.db, acct.id))?.slug).toBe(acct.slug)
    expect((await findAccount(catalog.db, acct.slug.toUpperCase()))?.id).toBe(acct.id)
    const before = await getRevisions(catalog.db, acct.id)
    await writeCatalog(catalog.db, acct.id, async () => {}, 'content')
    expect(await getRevisions(catalog.db, acct.id)).toEqual({ content: before.content + 1, auth: before.auth })
    await writeCatalog(catalog.db, acct.id, async () => {}, 'auth')
    expect(await getRevisions(catalog.db, acct.id)).toEqual({ content: before.content + 1, auth: before.auth + 1 })
    // A new token cannot be in any cache: issuing one invalidates nothing.
    await issueToken(catalog.db, acct, { bearerType: 'admin', bearerId: null })
    expect(await getRevisions(catalog.db, acct.id)).toEqual({ content: before.content + 1, auth: before.auth + 1 })
  })

  it('enforces unique release versions and tags per product and package, including package-less releases', async () => {
    const acct = await createAccount(catalog.db, `rel-${kind}`)
    const ts = now()
    const productId = newId()
    await catalog.db
      .insertInto('products')
      .values({
        id: productId,
        account_id: acct.id,
        name: 'P',
        code: null,
        code_key: null,
        distribution_strategy: 'LICENSED',
        url: null,
        platforms: null,
        metadata: '{}',
        created_at: ts,
        updated_at: ts,
      })
      .execute()
    const release = (version: string, tag: string | null) => ({
      id: newId(),
      account_id: acct.id,
      product_id: productId,
      package_id: null,
      package_scope: '',
      version,
      semver_major: 1,
      semver_minor: 0,
      semver_patch: 0,
      semver_prerelease: null,
      semver_build: null,
      channel: 'stable' as const,
      tag,
      status: 'DRAFT' as const,
      name: null,
      description: null,
      backdated_to: null,
      yanked_at: null,
      metadata: '{}',
      created_at: ts,
      updated_at: ts,
    })
    await catalog.db.insertInto('releases').values(release('1.0.0', 'latest')).execute()
    await expect(catalog.db.insertInto('releases').values(release('1.0.0', null)).execute()).rejects.toThrow()
    await expect(catalog.db.insertInto('releases').values(release('1.0.1', 'latest')).execute()).rejects.toThrow()
    await catalog.db.insertInto('releases').values(release('1.0.2', null)).execute()
    await catalog.db.insertInto('releases').values(release('1.0.3', null)).execute()
    const count = await catalog.db
      .selectFrom('releases')
      .select(({ fn }) => fn.countAll().as('n'))
      .executeTakeFirst()
    expect(Number(count?.n)).toBe(3)
  })
})

describe('openCatalog', () => {
  it('fails with one line when PostgreSQL is unreachable', async () => {
    const err = await openCatalog('postgres://postgres@127.0.0.1:1/test').catch((e) => e)
    expect(err).toBeInstanceOf(CatalogError)
    expect(err.message).toMatch(/^cannot connect to postgres:\/\/postgres@127\.0\.0\.1:1\/test: /)
    expect(err.message).not.toContain('\n')
  })

  it('fails with one line when the SQLite directory cannot be created', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pkgway-db-'))
    writeFileSync(join(dir, 'file'), 'not a directory')
    const err = await openCatalog(`sqlite:${join(dir, 'file', 'catalog.db')}`).catch((e) => e)
    expect(err).toBeInstanceOf(CatalogError)
    expect(err.message).not.toContain('\n')
  })
})
