import type { KyselyPlugin } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ANONYMOUS, type Principal } from '../../../gateway/auth/principal.ts'
import type { Catalog } from '../../../gateway/catalog/db.ts'
import type { AccountRow } from '../../../gateway/catalog/types.ts'
import { type PageContext, PypiPages } from '../../../gateway/engines/pypi/pages.ts'
import type { PypiPackage } from '../../../gateway/engines/pypi/queries.ts'
import { openTestCatalog } from '../../helpers/catalog.ts'
import { seedAccount, seedPackage, seedProduct, seedRelease } from '../../helpers/seed.ts'
import { coreMetadata, seedFile } from './fixtures.ts'

/** Counts the statements kysely sends, so the tests can see which requests reach the database. */
function counting(): KyselyPlugin & { queries: number } {
  return {
    queries: 0,
    transformQuery(args) {
      this.queries++
      return args.node
    },
    async transformResult(args) {
      return args.result
    },
  }
}

let catalog: Catalog
let account: AccountRow
let pkg: PypiPackage
const counter = counting()
let pages: PypiPages

beforeAll(async () => {
  catalog = await openTestCatalog('sqlite')
  account = await seedAccount(catalog.db)
  const product = await seedProduct(catalog.db, account, { strategy: 'OPEN' })
  const row = await seedPackage(catalog.db, account, { product, key: 'hot-pkg', engine: 'pypi' })
  const release = await seedRelease(catalog.db, account, {
    product,
    package: row,
    version: '1.0.0',
    status: 'PUBLISHED',
  })
  await seedFile(catalog.db, account, {
    release,
    filename: 'hot_pkg-1.0.0-py3-none-any.whl',
    coreMetadata: coreMetadata('hot-pkg', '1.0.0'),
  })
  pages = new PypiPages(catalog.db.withPlugin(counter))
})

afterAll(async () => {
  await catalog?.close()
})

const ctx = (revision: number, principal: Principal = ANONYMOUS): PageContext => ({
  account,
  revision,
  principal,
  baseUrl: 'https://dist.example/',
  now: Date.now(),
})

describe('PypiPages', () => {
  it('renders a hot page from the cache without touching the database', async () => {
    const first = ctx(1)
    ;[pkg] = await pages.packages(first)
    const page = await pages.projectPage(first, pkg, 'html', true)
    const before = counter.queries
    for (let i = 0; i < 5; i++) expect(await pages.projectPage(ctx(1), pkg, 'html', true)).toBe(page)
    expect(counter.queries).toBe(before)
  })

  it('reads packages and files again, once, after the revision changes', async () => {
    const before = counter.queries
    const next = ctx(2)
    const [again] = await pages.packages(next)
    await Promise.all([pages.projectPage(next, again, 'json', true), pages.projectPage(next, again, 'json', true)])
    expect(counter.queries - before).toBe(2)
  })

  it('shares the file rows between visibility classes and representations', async () => {
    const before = counter.queries
    const staff: Principal = { kind: 'staff', role: 'admin', tokenId: 't', userId: null }
    await pages.projectPage(ctx(2, staff), pkg, 'html', true)
    await pages.indexPage(ctx(2, staff), 'json')
    expect(counter.queries).toBe(before)
  })
})
