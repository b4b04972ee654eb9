import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getRevision } from '../../gateway/catalog/accounts.ts'
import { type Catalog, openCatalog } from '../../gateway/catalog/db.ts'
import { FilesystemStore } from '../../gateway/storage/filesystem-store.ts'
import { startWorkers } from '../../workers/index.ts'
import { enqueueProcessUpload, JOB_KINDS } from '../../workers/kinds.ts'
import { type CatalogKind, catalogKinds, testDatabaseUrl } from '../helpers/catalog.ts'
import { buildNpmTarball, putUpload, seedArtifact } from '../helpers/fixtures.ts'
import { memoryLog, waitFor } from './helpers.ts'

const entry = join(import.meta.dirname, 'worker-entry.ts')
const SECRET = 's'.repeat(40)

function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PKGWAY_')))
}

/** spawnWorker runs `pkgway worker` in its own process and resolves once it reports running. */
async function spawnWorker(configFile: string): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, 'worker', '--config', configFile], {
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (c) => {
    out += String(c)
  })
  child.stderr!.on('data', (c) => {
    out += String(c)
  })
  await waitFor(() => /worker \S+ running/.test(out) || child.exitCode !== null, 30_000)
  if (child.exitCode !== null) throw new Error(`worker exited at start: ${out}`)
  return { child, output: () => out }
}

describe.each(catalogKinds)('pkgway worker next to in-process workers on %s', (kind: CatalogKind) => {
  let dir: string
  let url: string
  let catalog: Catalog
  let blobs: FilesystemStore
  let configFile: string
  let tgz: Buffer

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pkgway-worker-cli-'))
    url = kind === 'sqlite' ? `sqlite:${join(dir, 'catalog.db')}` : testDatabaseUrl('postgres')
    catalog = await openCatalog(url)
    await catalog.migrate()
    blobs = new FilesystemStore({ root: join(dir, 'blobs'), signingSecret: SECRET, presignTtl: 900, uploadTtl: 3600 })
    configFile = join(dir, 'config.json')
    writeFileSync(
      configFile,
      JSON.stringify({
        databaseUrl: url,
        dataDir: dir,
        storage: { kind: 'filesystem', root: join(dir, 'blobs') },
        signingSecret: SECRET,
        logLevel: 'warn',
        workers: { concurrency: 2, pollIntervalMs: 20 },
      }),
    )
    tgz = await buildNpmTarball('@demo/hello', '1.0.0')
  }, 60_000)

  afterAll(async () => {
    if (!catalog) return
    const schema = kind === 'postgres' ? new URL(url).searchParams.get('schema') : null
    if (schema) await sql.raw(`drop schema if exists ${schema} cascade`).execute(catalog.db)
    await catalog.close()
  })

  it('both share the queue: every upload is processed exactly once, and SIGTERM exits cleanly', async () => {
    const seeded = []
    for (let i = 0; i < 12; i++) {
      const s = await seedArtifact(catalog.db, {
        engine: 'npm',
        packageKey: '@demo/hello',
        version: '1.0.0',
        filename: 'hello-1.0.0.tgz',
        filetype: 'tgz',
        filesize: tgz.length,
      })
      await putUpload(blobs, s, tgz)
      seeded.push({ ...s, revision: await getRevision(catalog.db, s.accountId) })
    }
    for (const s of seeded) await enqueueProcessUpload(catalog.db, { id: s.artifactId, account_id: s.accountId })
    const doneJobs = async () =>
      (await catalog.db.selectFrom('jobs').select('status').where('status', '=', 'done').execute()).length
    const proc = await spawnWorker(configFile)
    // The separate process starts first and gets at least one job; then both drain the rest together.
    await waitFor(async () => (await doneJobs()) > 0, 30_000)
    const log = memoryLog()
    const inProcess = startWorkers({ catalog, blobs, config: { concurrency: 2, pollIntervalMs: 20 }, log })
    try {
      await waitFor(
        async () => {
          const rows = await catalog.db
            .selectFrom('jobs')
            .select('status')
            .where('kind', '=', JOB_KINDS.processUpload)
            .execute()
          return rows.length === seeded.length && rows.every((r) => r.status === 'done')
        },
        30_000,
        50,
      )
    } finally {
      await inProcess.stop()
      proc.child.kill('SIGTERM')
    }
    const [code] = await once(proc.child, 'exit')
    expect(code, proc.output()).toBe(0)
    const byInProcess = log.lines.filter((l) => l.msg === 'artifact uploaded').length
    expect(byInProcess).toBeLessThan(seeded.length)
    const jobs = await catalog.db
      .selectFrom('jobs')
      .select(['attempts', 'locked_by', 'status'])
      .where('kind', '=', JOB_KINDS.processUpload)
      .execute()
    expect(jobs.every((j) => Number(j.attempts) === 1 && j.locked_by === null)).toBe(true)
    for (const s of seeded) {
      const a = await catalog.db
        .selectFrom('artifacts')
        .selectAll()
        .where('id', '=', s.artifactId)
        .executeTakeFirstOrThrow()
      expect(a.status).toBe('UPLOADED')
      const manifests = await catalog.db
        .selectFrom('manifests')
        .select('id')
        .where('artifact_id', '=', s.artifactId)
        .execute()
      expect(manifests).toHaveLength(1)
      expect(await getRevision(catalog.db, s.accountId)).toBe(s.revision + 2)
    }
  })

  it('exits non-zero with a one-line reason when the configuration is bad', async () => {
    const bad = join(dir, 'bad.json')
    writeFileSync(bad, JSON.stringify({ databaseUrl: 'mysql://nope', signingSecret: SECRET }))
    const child = spawn(process.execPath, ['--import', 'tsx', entry, 'worker', '--config', bad], {
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let err = ''
    child.stderr.on('data', (c) => {
      err += String(c)
    })
    const [code] = await once(child, 'exit')
    expect(code).toBe(1)
    expect(err).toMatch(/^pkgway: invalid configuration: databaseUrl/)
    expect(err.trim().split('\n')).toHaveLength(1)
  })
})
