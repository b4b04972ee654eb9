import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { type Catalog, openCatalog } from '../../gateway/catalog/db.ts'

export type CatalogKind = 'sqlite' | 'postgres'

/** The local PostgreSQL server of this machine and of CI (trust auth, database `test`). */
export const POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test'

/** testDatabaseUrl gives a fresh SQLite file or a fresh PostgreSQL schema, so runs never collide. */
export function testDatabaseUrl(kind: CatalogKind): string {
  if (kind === 'sqlite') return `sqlite:${join(mkdtempSync(join(tmpdir(), 'pkgway-db-')), 'catalog.db')}`
  return `${POSTGRES_URL}?schema=t_${randomBytes(6).toString('hex')}`
}

/** openTestCatalog opens and migrates a fresh catalog; close() also drops a PostgreSQL schema. */
export async function openTestCatalog(kind: CatalogKind): Promise<Catalog & { url: string }> {
  const url = testDatabaseUrl(kind)
  const catalog = await openCatalog(url)
  await catalog.migrate()
  if (kind === 'sqlite') return { ...catalog, url }
  const schema = new URL(url).searchParams.get('schema')!
  return {
    ...catalog,
    url,
    async close() {
      await sql.raw(`drop schema if exists ${schema} cascade`).execute(catalog.db)
      await catalog.close()
    },
  }
}

export const catalogKinds: CatalogKind[] = ['sqlite', 'postgres']
