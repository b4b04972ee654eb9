import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { type Catalog, openCatalog } from '../../gateway/catalog/db.ts'
import { FilesystemStore } from '../../gateway/storage/filesystem-store.ts'
import type { WorkerLogger } from '../../workers/runner.ts'
import { type CatalogKind, testDatabaseUrl } from '../helpers/catalog.ts'

/** A logger that keeps what it is told (tests look at warnings and errors). */
export function memoryLog(): WorkerLogger & { lines: { level: string; obj: object; msg?: string }[] } {
  const lines: { level: string; obj: object; msg?: string }[] = []
  const at = (level: string) => (obj: object, msg?: string) => {
    lines.push({ level, obj, msg })
  }
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

export function tempStore(): FilesystemStore {
  return new FilesystemStore({
    root: mkdtempSync(join(tmpdir(), 'pkgway-blobs-')),
    signingSecret: 'x'.repeat(32),
    presignTtl: 900,
    uploadTtl: 3600,
  })
}

/** openTwins opens one fresh, migrated database through two independent connections (two "processes"). */
export async function openTwins(kind: CatalogKind): Promise<{ a: Catalog; b: Catalog; close(): Promise<void> }> {
  const url = testDatabaseUrl(kind)
  const a = await openCatalog(url)
  await a.migrate()
  const b = await openCatalog(url)
  return {
    a,
    b,
    async close() {
      await b.close()
      const schema = kind === 'postgres' ? new URL(url).searchParams.get('schema') : null
      if (schema) await sql.raw(`drop schema if exists ${schema} cascade`).execute(a.db)
      await a.close()
    },
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** waitFor polls until check returns a truthy value or the timeout passes. */
export async function waitFor<T>(check: () => Promise<T> | T, timeoutMs = 10_000, stepMs = 20): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v) return v
    if (Date.now() > until) throw new Error('waitFor: timed out')
    await sleep(stepMs)
  }
}
