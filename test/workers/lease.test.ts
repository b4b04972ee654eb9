import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { type Catalog, openCatalog } from '../../gateway/catalog/db.ts'
import { DEFAULT_LEASE_MS, enqueue, getJob, type RunningWorkers, startWorkers } from '../../workers/index.ts'
import { type CatalogKind, catalogKinds, testDatabaseUrl } from '../helpers/catalog.ts'
import { memoryLog, tempStore, waitFor } from './helpers.ts'

const entry = join(import.meta.dirname, 'blocking-worker-entry.ts')

describe.each(catalogKinds)('a worker killed in the middle of a job, on %s', (kind: CatalogKind) => {
  let catalog: Catalog | undefined
  let child: ChildProcess | undefined
  let rescuer: RunningWorkers | undefined
  let url: string

  afterEach(async () => {
    child?.kill('SIGKILL')
    await rescuer?.stop()
    if (catalog) {
      const schema = kind === 'postgres' ? new URL(url).searchParams.get('schema') : null
      if (schema) await sql.raw(`drop schema if exists ${schema} cascade`).execute(catalog.db)
      await catalog.close()
    }
  })

  it('leaves a job that another worker finishes within 15 s, thanks to the short, heartbeat-renewed lease', async () => {
    url = testDatabaseUrl(kind)
    catalog = await openCatalog(url)
    await catalog.migrate()
    const { id } = await enqueue(catalog.db, { kind: 'test-blocking', accountId: null, payload: {} })

    child = spawn(process.execPath, ['--import', 'tsx', entry, url], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout!.on('data', (d) => {
      out += String(d)
    })
    child.stderr!.on('data', (d) => {
      out += String(d)
    })
    const started = (await waitFor(() => new RegExp(`^started ${id} as (\\S+)$`, 'm').exec(out), 30_000))!
    // The heartbeat renews the lease while the job runs: after more than a lease, the job is still that worker's.
    await new Promise((resolve) => setTimeout(resolve, DEFAULT_LEASE_MS + 1000))
    const held = await getJob(catalog.db, id)
    expect(held).toMatchObject({ status: 'running', locked_by: started[1], attempts: 1 })

    child.kill('SIGKILL')
    const killedAt = Date.now()
    let ranBy: string | undefined
    rescuer = startWorkers({
      catalog,
      blobs: tempStore(),
      log: memoryLog(),
      config: {
        pollIntervalMs: 100,
        handlers: [
          {
            kind: 'test-blocking',
            async run(ctx) {
              ranBy = ctx.workerId
              return undefined
            },
          },
        ],
      },
    })
    const done = await waitFor(
      async () => {
        const job = await getJob(catalog!.db, id)
        return job?.status === 'done' ? job : undefined
      },
      15_000,
      100,
    )
    expect(Date.now() - killedAt).toBeLessThan(15_000)
    expect(done).toMatchObject({ status: 'done', attempts: 2, locked_by: null })
    expect(ranBy).toBe(rescuer.id)
  }, 60_000)
})
