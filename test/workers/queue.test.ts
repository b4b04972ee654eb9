import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Catalog } from '../../gateway/catalog/db.ts'
import type { JobRow } from '../../gateway/catalog/types.ts'
import {
  backoffDelay,
  claimJobs,
  completeJob,
  enqueue,
  failJob,
  getJob,
  isExhausted,
  pruneJobs,
  releaseJob,
} from '../../gateway/catalog/jobs.ts'
import { type JobContext, type JobHandler, PermanentJobError, Worker } from '../../workers/runner.ts'
import { type CatalogKind, catalogKinds, openTestCatalog } from '../helpers/catalog.ts'
import { memoryLog, openTwins, sleep, tempStore, waitFor } from './helpers.ts'

const blobs = tempStore()

interface Probe {
  runs: Map<string, number>
  gaveUp: string[]
}

/** countingHandler counts runs per job; `behave` decides what each run does. */
function countingHandler(
  kind: string,
  probe: Probe,
  behave: (ctx: JobContext, run: number) => Promise<unknown> = async () => undefined,
): JobHandler<{ n?: number }> {
  return {
    kind,
    backoff: () => 0,
    async run(ctx) {
      const n = (probe.runs.get(ctx.job.id) ?? 0) + 1
      probe.runs.set(ctx.job.id, n)
      const r = await behave(ctx, n)
      return r && typeof r === 'object' && 'rescheduleAt' in r ? (r as { rescheduleAt: Date }) : undefined
    },
    async giveUp(ctx, _payload, error) {
      probe.gaveUp.push(`${ctx.job.id}:${error}`)
    },
  }
}

const newProbe = (): Probe => ({ runs: new Map(), gaveUp: [] })

function worker(
  catalog: Catalog,
  handlers: JobHandler<unknown>[],
  opts: Partial<ConstructorParameters<typeof Worker>[1]> = {},
) {
  return new Worker(
    { catalog, blobs, log: memoryLog() },
    {
      workerId: `w-${Math.random().toString(36).slice(2, 8)}`,
      concurrency: 2,
      pollIntervalMs: 20,
      leaseMs: 5000,
      shutdownGraceMs: 1000,
      handlers,
      ...opts,
    },
  )
}

async function jobsOf(catalog: Catalog, kind: string): Promise<JobRow[]> {
  return catalog.db.selectFrom('jobs').selectAll().where('kind', '=', kind).orderBy('created_at').execute()
}

describe.each(catalogKinds)('job queue on %s', (kind: CatalogKind) => {
  let catalog: Catalog
  beforeAll(async () => {
    catalog = await openTestCatalog(kind)
  })
  afterAll(async () => {
    await catalog?.close()
  })
  afterEach(async () => {
    await catalog.db.deleteFrom('jobs').execute()
  })

  it('enqueues inside the caller transaction: a rollback leaves no job', async () => {
    await expect(
      catalog.db.transaction().execute(async (trx) => {
        await enqueue(trx, { kind: 't-tx', accountId: null, payload: { n: 1 } })
        throw new Error('rollback')
      }),
    ).rejects.toThrow('rollback')
    expect(await jobsOf(catalog, 't-tx')).toHaveLength(0)
    const { id } = await catalog.db
      .transaction()
      .execute((trx) => enqueue(trx, { kind: 't-tx', accountId: null, payload: { n: 2 } }))
    const job = await getJob(catalog.db, id)
    expect(job).toMatchObject({ status: 'queued', attempts: 0, max_attempts: 5, payload: '{"n":2}' })
  })

  it('dedupes pending work by key, and accepts the key again once the job is done', async () => {
    const first = await enqueue(catalog.db, { kind: 't-dd', accountId: null, payload: {}, dedupeKey: 'k1' })
    const again = await catalog.db
      .transaction()
      .execute((trx) => enqueue(trx, { kind: 't-dd', accountId: null, payload: {}, dedupeKey: 'k1' }))
    expect(first.created).toBe(true)
    expect(again).toEqual({ id: first.id, created: false })
    // Still deduplicated while running.
    const [claimed] = await claimJobs(catalog, { workerId: 'w1', kinds: ['t-dd'], leaseMs: 5000 })
    expect(claimed.id).toBe(first.id)
    expect((await enqueue(catalog.db, { kind: 't-dd', accountId: null, payload: {}, dedupeKey: 'k1' })).created).toBe(
      false,
    )
    expect(await completeJob(catalog.db, claimed, 'w1')).toBe(true)
    const third = await enqueue(catalog.db, { kind: 't-dd', accountId: null, payload: {}, dedupeKey: 'k1' })
    expect(third.created).toBe(true)
    expect(third.id).not.toBe(first.id)
    expect(await jobsOf(catalog, 't-dd')).toHaveLength(2)
  })

  it('claims due jobs once, with a lease, and leaves future jobs alone', async () => {
    const due = await enqueue(catalog.db, { kind: 't-claim', accountId: null, payload: {} })
    await enqueue(catalog.db, { kind: 't-claim', accountId: null, payload: {}, runAt: new Date(Date.now() + 60_000) })
    await enqueue(catalog.db, { kind: 't-other', accountId: null, payload: {} })
    const claimed = await claimJobs(catalog, { workerId: 'w1', kinds: ['t-claim'], limit: 10, leaseMs: 5000 })
    expect(claimed.map((j) => j.id)).toEqual([due.id])
    expect(claimed[0]).toMatchObject({ status: 'running', locked_by: 'w1', attempts: 1 })
    expect(Date.parse(claimed[0].lease_until!)).toBeGreaterThan(Date.now() + 3000)
    expect(await claimJobs(catalog, { workerId: 'w2', kinds: ['t-claim'], limit: 10, leaseMs: 5000 })).toEqual([])
  })

  it('retries a failing job with backoff and fails it for good after max attempts', async () => {
    const { id } = await enqueue(catalog.db, {
      kind: 't-fail',
      accountId: null,
      payload: {},
      maxAttempts: 2,
      dedupeKey: 'f',
    })
    let [job] = await claimJobs(catalog, { workerId: 'w1', kinds: ['t-fail'], leaseMs: 5000 })
    const later = new Date(Date.now() + 60_000)
    expect(await failJob(catalog.db, job, 'w1', 'boom 1', later)).toBe('retrying')
    expect(await getJob(catalog.db, id)).toMatchObject({
      status: 'queued',
      last_error: 'boom 1',
      run_at: later.toISOString(),
    })
    // Not due yet.
    expect(await claimJobs(catalog, { workerId: 'w1', kinds: ['t-fail'], leaseMs: 5000 })).toEqual([])
    ;[job] = await claimJobs(catalog, {
      workerId: 'w1',
      kinds: ['t-fail'],
      leaseMs: 5000,
      now: new Date(later.getTime() + 1),
    })
    expect(job.attempts).toBe(2)
    expect(await failJob(catalog.db, job, 'w1', 'boom 2', new Date())).toBe('failed')
    expect(await getJob(catalog.db, id)).toMatchObject({ status: 'failed', last_error: 'boom 2', dedupe_key: null })
  })

  it('backoff grows exponentially up to a cap', () => {
    expect(backoffDelay(1, 1000, 60_000, 0)).toBe(1000)
    expect(backoffDelay(2, 1000, 60_000, 0)).toBe(2000)
    expect(backoffDelay(5, 1000, 60_000, 0)).toBe(16_000)
    expect(backoffDelay(20, 1000, 60_000, 0)).toBe(60_000)
    const jittered = backoffDelay(3, 1000)
    expect(jittered).toBeGreaterThanOrEqual(3200)
    expect(jittered).toBeLessThanOrEqual(4800)
  })

  it('a worker retries until the handler succeeds', async () => {
    const probe = newProbe()
    const h = countingHandler('t-retry', probe, async (_ctx, n) => {
      if (n < 3) throw new Error(`transient ${n}`)
    })
    const { id } = await enqueue(catalog.db, { kind: 't-retry', accountId: null, payload: {} })
    const w = worker(catalog, [h])
    for (let i = 0; i < 3; i++) expect(await w.tick()).toBe(1)
    expect(await w.tick()).toBe(0)
    expect(probe.runs.get(id)).toBe(3)
    expect(await getJob(catalog.db, id)).toMatchObject({ status: 'done', attempts: 3, locked_by: null })
  })

  it('gives up after the last attempt, and at once on a PermanentJobError', async () => {
    const probe = newProbe()
    const h = countingHandler('t-giveup', probe, async (ctx) => {
      const payload = JSON.parse(ctx.job.payload) as { permanent?: boolean }
      throw payload.permanent ? new PermanentJobError('bad input') : new Error('always')
    })
    const a = await enqueue(catalog.db, { kind: 't-giveup', accountId: null, payload: {}, maxAttempts: 2 })
    const b = await enqueue(catalog.db, { kind: 't-giveup', accountId: null, payload: { permanent: true } })
    const w = worker(catalog, [h])
    while ((await w.tick()) > 0) {}
    expect(await getJob(catalog.db, a.id)).toMatchObject({ status: 'failed', attempts: 2, last_error: 'always' })
    expect(await getJob(catalog.db, b.id)).toMatchObject({ status: 'failed', attempts: 1, last_error: 'bad input' })
    expect(probe.gaveUp.sort()).toEqual([`${a.id}:always`, `${b.id}:bad input`].sort())
  })

  it('a job whose worker died is reclaimed when its lease expires, and runs exactly once', async () => {
    const probe = newProbe()
    const { id } = await enqueue(catalog.db, { kind: 't-crash', accountId: null, payload: {} })
    // The "dead" worker claims with a short lease and never reports back.
    const [dead] = await claimJobs(catalog, { workerId: 'dead', kinds: ['t-crash'], leaseMs: 300 })
    expect(dead.id).toBe(id)
    const w = worker(catalog, [countingHandler('t-crash', probe)])
    expect(await w.tick()).toBe(0) // lease still valid
    await sleep(350)
    expect(await w.tick()).toBe(1)
    expect(await w.tick()).toBe(0)
    expect(probe.runs.get(id)).toBe(1)
    expect(await getJob(catalog.db, id)).toMatchObject({ status: 'done', attempts: 2 })
    // The dead worker coming back cannot touch the job any more.
    expect(await completeJob(catalog.db, dead, 'dead')).toBe(false)
    expect(await failJob(catalog.db, dead, 'dead', 'late', null)).toBe('lost')
  })

  it('a job that keeps killing its worker fails once its attempts are used up, without running again', async () => {
    const probe = newProbe()
    const { id } = await enqueue(catalog.db, { kind: 't-killer', accountId: null, payload: {}, maxAttempts: 1 })
    await claimJobs(catalog, { workerId: 'dead', kinds: ['t-killer'], leaseMs: 100 })
    await sleep(150)
    const w = worker(catalog, [countingHandler('t-killer', probe)])
    expect(await w.tick()).toBe(1)
    const job = await getJob(catalog.db, id)
    expect(job).toMatchObject({ status: 'failed', attempts: 2 })
    expect(isExhausted(job!)).toBe(true)
    expect(probe.runs.size).toBe(0)
    expect(probe.gaveUp).toHaveLength(1)
  })

  it('renews the lease of a long job, so nobody else takes it', async () => {
    const probe = newProbe()
    const slow = countingHandler('t-slow', probe, () => sleep(700))
    const { id } = await enqueue(catalog.db, { kind: 't-slow', accountId: null, payload: {} })
    const w1 = worker(catalog, [slow], { leaseMs: 240 })
    const w2 = worker(catalog, [slow], { leaseMs: 240 })
    const running = w1.tick()
    await sleep(400) // past the first lease
    expect(await w2.tick()).toBe(0)
    expect(await running).toBe(1)
    expect(probe.runs.get(id)).toBe(1)
    expect(await getJob(catalog.db, id)).toMatchObject({ status: 'done', attempts: 1 })
  })

  it('a worker that lost its lease aborts the job and leaves it to the new owner', async () => {
    const probe = newProbe()
    let aborted: unknown
    const h = countingHandler(
      't-lost',
      probe,
      (ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            aborted = ctx.signal.reason
            reject(ctx.signal.reason)
          })
        }),
    )
    const { id } = await enqueue(catalog.db, { kind: 't-lost', accountId: null, payload: {} })
    const w = worker(catalog, [h], { leaseMs: 150 })
    const running = w.tick()
    await waitFor(() => probe.runs.get(id) === 1)
    // Another worker took the job over (as if this one had been frozen past its lease).
    await catalog.db.updateTable('jobs').set({ locked_by: 'thief' }).where('id', '=', id).execute()
    expect(await running).toBe(1)
    expect((aborted as Error).name).toBe('LeaseLost')
    expect(await getJob(catalog.db, id)).toMatchObject({ status: 'running', locked_by: 'thief', last_error: null })
    expect(probe.gaveUp).toEqual([])
  })

  it('reschedules without counting an attempt', async () => {
    const probe = newProbe()
    const h = countingHandler('t-poll', probe, async (_ctx, n) =>
      n < 3 ? { rescheduleAt: new Date(Date.now() - 1) } : undefined,
    )
    const { id } = await enqueue(catalog.db, { kind: 't-poll', accountId: null, payload: {}, maxAttempts: 1 })
    const w = worker(catalog, [h])
    expect(await w.tick()).toBe(1)
    expect(await getJob(catalog.db, id)).toMatchObject({ status: 'queued', attempts: 0, locked_by: null })
    while ((await w.tick()) > 0) {}
    expect(probe.runs.get(id)).toBe(3)
    expect(await getJob(catalog.db, id)).toMatchObject({ status: 'done', attempts: 1 })
  })

  it('graceful stop lets a short job finish and hands a long one back to the queue', async () => {
    const probe = newProbe()
    const h = countingHandler('t-stop', probe, async (ctx) => {
      const payload = JSON.parse(ctx.job.payload) as { ms: number }
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, payload.ms)
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(t)
          reject(ctx.signal.reason)
        })
      })
    })
    const quick = await enqueue(catalog.db, { kind: 't-stop', accountId: null, payload: { ms: 100 } })
    const long = await enqueue(catalog.db, { kind: 't-stop', accountId: null, payload: { ms: 60_000 } })
    const w = worker(catalog, [h], { shutdownGraceMs: 400 }).start()
    await waitFor(() => w.busy === 2)
    const t0 = Date.now()
    await w.stop()
    expect(Date.now() - t0).toBeLessThan(5000)
    expect(await getJob(catalog.db, quick.id)).toMatchObject({ status: 'done' })
    expect(await getJob(catalog.db, long.id)).toMatchObject({ status: 'queued', attempts: 0, locked_by: null })
    // And another worker picks it up at once.
    const [again] = await claimJobs(catalog, { workerId: 'next', kinds: ['t-stop'], leaseMs: 1000 })
    expect(again.id).toBe(long.id)
    expect(await releaseJob(catalog.db, again, 'next')).toBe(true)
  })

  it('prunes ended jobs older than the retention, never pending ones', async () => {
    const done = await enqueue(catalog.db, { kind: 't-prune', accountId: null, payload: {} })
    const pending = await enqueue(catalog.db, { kind: 't-prune', accountId: null, payload: {}, runAt: new Date(0) })
    const [job] = await claimJobs(catalog, { workerId: 'w', kinds: ['t-prune'], leaseMs: 1000 })
    expect(job.id).toBe(pending.id) // the older run_at first
    await completeJob(catalog.db, job, 'w')
    expect(await pruneJobs(catalog.db, new Date(Date.now() - 60_000))).toBe(0)
    expect(await pruneJobs(catalog.db, new Date(Date.now() + 1000))).toBe(1)
    expect((await jobsOf(catalog, 't-prune')).map((j) => j.id)).toEqual([done.id])
  })

  it('a started worker picks up jobs as they come', async () => {
    const probe = newProbe()
    const w = worker(catalog, [countingHandler('t-loop', probe)], { pollIntervalMs: 30 }).start()
    try {
      const ids = []
      for (let i = 0; i < 5; i++)
        ids.push((await enqueue(catalog.db, { kind: 't-loop', accountId: null, payload: {} })).id)
      w.wake()
      await waitFor(async () => (await jobsOf(catalog, 't-loop')).every((j) => j.status === 'done'))
      expect(ids.map((id) => probe.runs.get(id))).toEqual([1, 1, 1, 1, 1])
    } finally {
      await w.stop()
    }
  })
})

describe.each(catalogKinds)('two workers racing on %s', (kind: CatalogKind) => {
  let twins: Awaited<ReturnType<typeof openTwins>>
  beforeAll(async () => {
    twins = await openTwins(kind)
  })
  afterAll(async () => {
    await twins?.close()
  })

  it('exactly one of two workers runs a job', async () => {
    for (let round = 0; round < 5; round++) {
      const probe = newProbe()
      const h = countingHandler('t-race', probe, () => sleep(20))
      const { id } = await enqueue(twins.a.db, { kind: 't-race', accountId: null, payload: {} })
      const w1 = worker(twins.a, [h])
      const w2 = worker(twins.b, [h])
      const [n1, n2] = await Promise.all([w1.tick(), w2.tick()])
      expect(n1 + n2).toBe(1)
      expect(probe.runs.get(id)).toBe(1)
      expect(await getJob(twins.a.db, id)).toMatchObject({ status: 'done', attempts: 1 })
    }
  })

  // SQLite: better-sqlite3 is synchronous, so two connections of one process cannot hold overlapping write
  // transactions (the second blocks the event loop the first needs to commit); processes each have their own.
  it.skipIf(kind === 'sqlite')('two transactions enqueueing one dedupe key make one job', async () => {
    const results = await Promise.all(
      [twins.a, twins.b].map((c) =>
        c.db.transaction().execute(async (trx) => {
          const r = await enqueue(trx, { kind: 't-dd2', accountId: null, payload: {}, dedupeKey: 'same' })
          await sleep(50)
          return r
        }),
      ),
    )
    expect(results.filter((r) => r.created)).toHaveLength(1)
    expect(new Set(results.map((r) => r.id)).size).toBe(1)
    expect(await twins.a.db.selectFrom('jobs').select('id').where('kind', '=', 't-dd2').execute()).toHaveLength(1)
  })

  it('many jobs shared by two busy workers each run exactly once', async () => {
    const probe = newProbe()
    const h = countingHandler('t-many', probe, () => sleep(5))
    const ids: string[] = []
    for (let i = 0; i < 30; i++)
      ids.push((await enqueue(twins.a.db, { kind: 't-many', accountId: null, payload: {} })).id)
    const drain = async (w: Worker) => {
      let total = 0
      for (;;) {
        const n = await w.tick()
        if (n === 0) return total
        total += n
      }
    }
    const [n1, n2] = await Promise.all([
      drain(worker(twins.a, [h], { concurrency: 4 })),
      drain(worker(twins.b, [h], { concurrency: 4 })),
    ])
    expect(n1 + n2).toBe(30)
    expect(ids.map((id) => probe.runs.get(id))).toEqual(ids.map(() => 1))
    const rows = await twins.a.db
      .selectFrom('jobs')
      .select(['status', 'attempts'])
      .where('kind', '=', 't-many')
      .execute()
    expect(rows.every((r) => r.status === 'done' && Number(r.attempts) === 1)).toBe(true)
  })
})
