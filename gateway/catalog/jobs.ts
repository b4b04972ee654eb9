import type { Executor } from './accounts.ts'
import { type Catalog, newId, now } from './db.ts'
import type { JobRow } from './types.ts'

/**
 * The job queue, on the catalog's `jobs` table, so a job commits or rolls back with the change that causes it.
 *
 * Life of a job:
 *
 *   queued ──claim──▶ running ──complete──▶ done
 *     ▲                 │  ├──fail (attempts left)──▶ queued, run_at = now + backoff
 *     │                 │  ├──fail (no attempts left)──▶ failed
 *     └──release / reschedule / lease expired (reclaimed by the next claim)
 *
 * A claim takes a lease (`locked_by`, `lease_until`) and counts an attempt. A worker that dies leaves the job
 * `running` with a lease that expires; the next claim takes it over (and counts another attempt, so a job that
 * kills its worker every time still ends `failed`). Every transition after the claim is guarded by
 * `locked_by`, so a worker that lost its lease can no longer touch the job.
 *
 * `dedupe_key` is unique while a job is queued or running: enqueueing the same key again is a no-op that returns
 * the pending job. The key is cleared when the job ends (done or failed), so the same work can be queued anew.
 */

export interface EnqueueInput<P = unknown> {
  kind: string
  accountId: string | null
  payload: P
  /** While a job with this key is queued or running, enqueueing the same key again does nothing. */
  dedupeKey?: string
  /** Earliest start; now when absent. */
  runAt?: Date | string
  /** Attempts before the job fails for good (claims, including reclaims after a lost lease). Default 5. */
  maxAttempts?: number
}

export interface Enqueued {
  id: string
  /** False when a pending job with the same dedupe key already existed (its id is returned). */
  created: boolean
}

export const DEFAULT_MAX_ATTEMPTS = 5

const iso = (t: Date | string): string => (typeof t === 'string' ? new Date(t).toISOString() : t.toISOString())

/**
 * enqueue adds a job. Pass the caller's transaction to commit the job together with the change that causes it.
 * With a dedupeKey that a queued or running job already holds, nothing is inserted.
 */
export async function enqueue<P>(db: Executor, input: EnqueueInput<P>): Promise<Enqueued> {
  for (let round = 0; ; round++) {
    const result = await tryEnqueue(db, input)
    // The holder of the key ended between our insert and our read (its key was cleared): insert again.
    if (result) return result
    if (round >= 2) throw new Error(`enqueue: could not settle dedupe key ${input.dedupeKey}`)
  }
}

async function tryEnqueue<P>(db: Executor, input: EnqueueInput<P>): Promise<Enqueued | null> {
  const ts = now()
  const id = newId()
  const maxAttempts = input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new RangeError('maxAttempts must be a positive integer')
  const insert = db.insertInto('jobs').values({
    id,
    kind: input.kind,
    account_id: input.accountId,
    payload: JSON.stringify(input.payload ?? null),
    status: 'queued',
    attempts: 0,
    max_attempts: maxAttempts,
    run_at: input.runAt === undefined ? ts : iso(input.runAt),
    locked_by: null,
    lease_until: null,
    last_error: null,
    dedupe_key: input.dedupeKey ?? null,
    created_at: ts,
    updated_at: ts,
  })
  if (input.dedupeKey === undefined) {
    await insert.execute()
    return { id, created: true }
  }
  // ON CONFLICT DO NOTHING never aborts a PostgreSQL transaction, unlike a failed plain insert.
  const inserted = await insert
    .onConflict((oc) => oc.column('dedupe_key').doNothing())
    .returning('id')
    .executeTakeFirst()
  if (inserted) return { id, created: true }
  const existing = await db.selectFrom('jobs').select('id').where('dedupe_key', '=', input.dedupeKey).executeTakeFirst()
  return existing ? { id: existing.id, created: false } : null
}

export interface ClaimOptions {
  workerId: string
  /** Kinds this worker can run; others stay queued for a worker that can. */
  kinds: readonly string[]
  /** Most jobs to claim at once. */
  limit?: number
  leaseMs: number
  /** Clock override for tests. */
  now?: Date
}

/**
 * claimJobs leases up to `limit` due jobs: queued ones whose run_at has come, and running ones whose lease
 * expired (their worker died). On PostgreSQL concurrent claimers skip each other's rows (`FOR UPDATE SKIP
 * LOCKED`); on SQLite the claim is one UPDATE statement, which runs under SQLite's single-writer lock.
 * Each claimed job has `attempts` incremented; a job whose attempts now exceed max_attempts must be failed
 * without running (see {@link isExhausted}).
 */
export async function claimJobs(catalog: Pick<Catalog, 'db' | 'dialect'>, opts: ClaimOptions): Promise<JobRow[]> {
  if (opts.kinds.length === 0) return []
  const at = opts.now ?? new Date()
  const ts = at.toISOString()
  const lease = new Date(at.getTime() + opts.leaseMs).toISOString()
  const { db } = catalog
  let due = db
    .selectFrom('jobs')
    .select('id')
    .where('kind', 'in', [...opts.kinds])
    .where((eb) =>
      eb.or([
        eb.and([eb('status', '=', 'queued'), eb('run_at', '<=', ts)]),
        eb.and([eb('status', '=', 'running'), eb('lease_until', '<', ts)]),
      ]),
    )
    .orderBy('run_at')
    .orderBy('id')
    .limit(opts.limit ?? 1)
  if (catalog.dialect === 'postgres') due = due.forUpdate().skipLocked()
  const rows = await db
    .updateTable('jobs')
    .set((eb) => ({
      status: 'running',
      locked_by: opts.workerId,
      lease_until: lease,
      attempts: eb('attempts', '+', 1),
      updated_at: ts,
    }))
    .where('id', 'in', due)
    .returningAll()
    .execute()
  return rows.map(normalise).sort((a, b) => (a.run_at < b.run_at ? -1 : a.run_at > b.run_at ? 1 : 0))
}

function normalise(row: JobRow): JobRow {
  return { ...row, attempts: Number(row.attempts), max_attempts: Number(row.max_attempts) }
}

/** isExhausted: the job was claimed more often than allowed (its worker kept dying); fail it without running. */
export const isExhausted = (job: Pick<JobRow, 'attempts' | 'max_attempts'>): boolean => job.attempts > job.max_attempts

type Held = Pick<JobRow, 'id'>

function ownedBy(db: Executor, job: Held, workerId: string) {
  return db
    .updateTable('jobs')
    .where('id', '=', job.id)
    .where('status', '=', 'running')
    .where('locked_by', '=', workerId)
}

const changed = (r: { numUpdatedRows: bigint }): boolean => Number(r.numUpdatedRows) > 0

/** extendLease renews a running job's lease; false means the lease was lost (another worker took the job). */
export async function extendLease(db: Executor, job: Held, workerId: string, leaseMs: number): Promise<boolean> {
  const r = await ownedBy(db, job, workerId)
    .set({ lease_until: new Date(Date.now() + leaseMs).toISOString() })
    .executeTakeFirst()
  return changed(r)
}

/** completeJob marks the job done and frees its dedupe key; false when the lease was lost. */
export async function completeJob(db: Executor, job: Held, workerId: string): Promise<boolean> {
  const r = await ownedBy(db, job, workerId)
    .set({ status: 'done', locked_by: null, lease_until: null, dedupe_key: null, last_error: null, updated_at: now() })
    .executeTakeFirst()
  return changed(r)
}

export type FailOutcome = 'retrying' | 'failed' | 'lost'

/**
 * failJob records an error. With attempts left (and `retryAt` given) the job is queued again for retryAt;
 * otherwise it ends `failed` and frees its dedupe key.
 */
export async function failJob(
  db: Executor,
  job: Pick<JobRow, 'id' | 'attempts' | 'max_attempts'>,
  workerId: string,
  error: string,
  retryAt: Date | null,
): Promise<FailOutcome> {
  const last_error = error.slice(0, 2000)
  if (retryAt && job.attempts < job.max_attempts) {
    const r = await ownedBy(db, job, workerId)
      .set({
        status: 'queued',
        run_at: retryAt.toISOString(),
        locked_by: null,
        lease_until: null,
        last_error,
        updated_at: now(),
      })
      .executeTakeFirst()
    return changed(r) ? 'retrying' : 'lost'
  }
  const r = await ownedBy(db, job, workerId)
    .set({ status: 'failed', locked_by: null, lease_until: null, dedupe_key: null, last_error, updated_at: now() })
    .executeTakeFirst()
  return changed(r) ? 'failed' : 'lost'
}

/**
 * rescheduleJob puts a job back for runAt without counting the attempt: the job did its work for now and asks
 * to run again later (polling).
 */
export async function rescheduleJob(db: Executor, job: Held, workerId: string, runAt: Date): Promise<boolean> {
  const r = await ownedBy(db, job, workerId)
    .set((eb) => ({
      status: 'queued',
      run_at: runAt.toISOString(),
      locked_by: null,
      lease_until: null,
      attempts: eb('attempts', '-', 1),
      updated_at: now(),
    }))
    .executeTakeFirst()
  return changed(r)
}

/** releaseJob hands a claimed job back (graceful shutdown) to run again at once, without counting the attempt. */
export async function releaseJob(db: Executor, job: Held, workerId: string): Promise<boolean> {
  return rescheduleJob(db, job, workerId, new Date())
}

/**
 * backoffDelay is the wait before retry number `attempt` (1-based): base·2^(attempt-1), capped, with ±20 %
 * jitter so that jobs failing together do not retry together.
 */
export function backoffDelay(attempt: number, baseMs = 2000, maxMs = 10 * 60_000, jitter = 0.2): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(raw * (1 - jitter + Math.random() * 2 * jitter))
}

/** getJob reads one job (tests and diagnostics). */
export async function getJob(db: Executor, id: string): Promise<JobRow | undefined> {
  const row = await db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst()
  return row ? normalise(row) : undefined
}

/** pruneJobs deletes jobs that ended (done or failed) before `before`; it returns how many. */
export async function pruneJobs(db: Executor, before: Date): Promise<number> {
  const r = await db
    .deleteFrom('jobs')
    .where('status', 'in', ['done', 'failed'])
    .where('updated_at', '<', before.toISOString())
    .executeTakeFirst()
  return Number(r.numDeletedRows)
}
