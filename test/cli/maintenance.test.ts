import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bootstrap } from '../../gateway/catalog/bootstrap.ts'
import { type Catalog, openCatalog } from '../../gateway/catalog/db.ts'
import type { Account } from '../../gateway/catalog/types.ts'
import { artifactKey } from '../../gateway/storage/keys.ts'
import { seedArtifact, seedProduct, seedRelease } from '../helpers/seed.ts'
import { cleanEnv, runPkgway, stderrLines } from './pkgway-process.ts'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pkgway-cli-maint-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

let runs = 0
/** workspace is a fresh working directory whose default catalog (./data/pkgway.db) is migrated and bootstrapped. */
async function workspace(): Promise<{ cwd: string; catalog: Catalog; account: Account }> {
  const cwd = await mkdtemp(join(dir, `run-${++runs}-`))
  const catalog = await openCatalog(`sqlite:${join(cwd, 'data', 'pkgway.db')}`)
  await catalog.migrate()
  const { account } = await bootstrap(catalog)
  return { cwd, catalog, account }
}

const pkgway = (cwd: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
  runPkgway(args, { cwd, env: cleanEnv(cwd, env) })

async function put(cwd: string, key: string, body: string) {
  const path = join(cwd, 'data', 'blobs', key)
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, body)
}

const exists = (cwd: string, key: string) =>
  readFile(join(cwd, 'data', 'blobs', key)).then(
    () => true,
    () => false,
  )

describe('pkgway gc', () => {
  it('reports the objects no artifact points at, deletes them only with --yes, and keeps the rest', async () => {
    const { cwd, catalog, account } = await workspace()
    const product = await seedProduct(catalog.db, account)
    const release = await seedRelease(catalog.db, account, { product, version: '1.0.0' })
    await seedArtifact(catalog.db, account, { release, filename: 'dist/app.tar.gz' })
    const kept = artifactKey(account.id, release.id, 'dist/app.tar.gz')
    const orphan = artifactKey(account.id, release.id, 'removed.bin')
    const goneRelease = artifactKey(account.id, '0b7c9d55-8d0f-4d7e-9d1e-000000000001', 'old.whl')
    await put(cwd, kept, 'kept')
    await put(cwd, orphan, 'orphan!')
    await put(cwd, goneRelease, 'x')
    await catalog.close()

    const dry = await pkgway(cwd, ['gc'])
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stdout.split('\n').filter(Boolean).sort()).toEqual(
      [
        `would delete ${orphan} (7 bytes)`,
        `would delete ${goneRelease} (1 bytes)`,
        'pkgway: 2 unreferenced objects (0.0 MB) of 3; run with --yes to delete them',
      ].sort(),
    )
    expect(await exists(cwd, orphan)).toBe(true)

    const wet = await pkgway(cwd, ['gc', '--yes'])
    expect(wet.code, wet.stderr).toBe(0)
    expect(wet.stdout).toContain('pkgway: deleted 2 unreferenced objects (0.0 MB) of 3\n')
    expect(await exists(cwd, orphan)).toBe(false)
    expect(await exists(cwd, goneRelease)).toBe(false)
    expect(await exists(cwd, kept)).toBe(true)

    const again = await pkgway(cwd, ['gc'])
    expect(again.stdout).toBe('pkgway: 0 unreferenced objects (0.0 MB) of 1\n')
  })
})

describe('pkgway signing-key rotate', () => {
  it('makes a new key current and keeps the previous one accepted for a week by default', async () => {
    const { cwd, catalog } = await workspace()
    await catalog.close()
    const exit = await pkgway(cwd, ['signing-key', 'rotate'])
    expect(exit.code, exit.stderr).toBe(0)
    expect(exit.stdout).toBe('pkgway: signing key 2 is current; the previous one is accepted for 604800 more seconds\n')
    const reopened = await openCatalog(`sqlite:${join(cwd, 'data', 'pkgway.db')}`)
    try {
      const rows = await reopened.db.selectFrom('signing_keys').selectAll().orderBy('generation').execute()
      expect(rows.map((r) => [r.generation, r.retired_at === null])).toEqual([
        [1, false],
        [2, true],
      ])
      const acceptFor = Date.parse(rows[0].accept_until!) - Date.parse(rows[0].retired_at!)
      expect(acceptFor).toBe(604_800_000)
    } finally {
      await reopened.close()
    }
  })

  it('refuses when signingSecret is configured, since the catalog key is not used then', async () => {
    const { cwd, catalog } = await workspace()
    await catalog.close()
    const exit = await pkgway(cwd, ['signing-key', 'rotate', '--accept-for', '60'], {
      PKGWAY_SIGNING_SECRET: 's'.repeat(40),
    })
    expect(exit.code).toBe(1)
    expect(stderrLines(exit)).toEqual(['pkgway: signingSecret is configured, so the catalog key is not used'])
  })
})
