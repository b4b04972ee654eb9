import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { Catalog } from '../gateway/catalog/db.ts'
import { isCatalogUnavailable } from '../gateway/catalog/health.ts'
import { recordJobOutcome } from '../gateway/metrics.ts'
import type { JobRow } from '../gateway/catalog/types.ts'
import type { BlobStore } from '../gateway/storage/blob-store.ts'
import {
  backoffDelay,
  claimJobs,
  completeJob,
  extendLease,
  failJob,
  isExhausted,
  pruneJobs,
  releaseJob,
  rescheduleJob,
} from '../gateway/catalog/jobs.ts'

/** WorkerLogger is the part of a pino (or Fastify) logger the workers use. */
export interface WorkerLogger {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export interface JobContext {
  catalog: Catalog
  blobs: BlobStore
  log: WorkerLogger
  /** Aborted when the worker shuts down past its grace period or loses the job's lease. */
  signal: AbortSignal
  job: JobRow
  workerId: string
}

/** JobOutcome: nothing (done), or a time to run again without counting an attempt (polling jobs). */
export type JobOutcome = undefined | { rescheduleAt: Date }

/**
 * JobHandler runs one kind of job. Handlers must be idempotent: a job may run twice (its worker died after the
 * work but before recording it), and the second run must change nothing.
 */
export interface JobHandler<P = unknown> {
  readonly kind: string
  /** Wait before the retry that follows failed attempt `attempt` (1-based); exponential by default. */
  backoff?(attempt: number): number
  /** Does the work. Throwing retries with backoff (or fails for good when attempts are used up). */
  run(ctx: JobContext, payload: P): Promise<JobOutcome | undefined>
  /** Called once when the job fails for good, with the last error, before the job is marked failed. */
  giveUp?(ctx: JobContext, payload: P, error: string): Promise<void>
}

/** PermanentJobError fails the job at once, without retrying. */
export class PermanentJobError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PermanentJobError'
  }
}

export interface WorkerOptions {
  /** Unique name of this worker in `jobs.locked_by`. */
  workerId: string
  /** Jobs run at once. */
  concurrency: number
  /** Wait between claims when the queue is empty. */
  pollIntervalMs: number
  /** Lease of a claimed job; renewed every third of it while the job runs. */
  leaseMs: number
  /** On stop, how long running jobs may finish before they are aborted and handed back to the queue. */
  shutdownGraceMs: number
  /** Ended jobs (done, failed) are deleted after this long; the worker prunes at most once an hour. 0 keeps them. */
  jobRetentionMs?: number
  handlers: readonly JobHandler<unknown>[]
}

export interface WorkerDeps {
  catalog: Catalog
  blobs: BlobStore
  log: WorkerLogger
}

export function defaultWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`
}

class ShuttingDown extends Error {
  constructor() {
    super('worker shutting down')
    this.name = 'ShuttingDown'
  }
}

class LeaseLost extends Error {
  constructor() {
    super('job lease lost')
    this.name = 'LeaseLost'
  }
}

interface Running {
  job: JobRow
  controller: AbortController
  done: Promise<void>
}

export const errorMessage = (err: unknown): string =>
  err instanceof Error ? err.message || err.name : typeof err === 'string' ? err : JSON.stringify(err)

/**
 * Worker claims jobs of the kinds it has handlers for and runs up to `concurrency` of them at once. Any number of
 * workers, in this process or others, may share a catalog: claims never overlap (see queue.ts).
 */
export class Worker {
  readonly id: string
  private readonly handlers: Map<string, JobHandler<unknown>>
  private readonly running = new Map<string, Running>()
  private stopping = false
  private loop?: Promise<void>
  private stopped?: Promise<void>
  private wakeSleeper?: () => void
  private prunedAt = 0

  constructor(
    private readonly deps: WorkerDeps,
    private readonly opts: WorkerOptions,
  ) {
    this.id = opts.workerId
    this.handlers = new Map(opts.handlers.map((h) => [h.kind, h]))
  }

  get kinds(): string[] {
    return [...this.handlers.keys()]
  }

  /** busy is the number of jobs running now. */
  get busy(): number {
    return this.running.size
  }

  /** start runs the claim loop in the background until {@link stop}. */
  start(): this {
    if (!this.loop && !this.stopping) this.loop = this.claimLoop()
    return this
  }

  /** wake makes an idle loop claim at once (call after enqueueing, to skip the poll interval). */
  wake(): void {
    this.wakeSleeper?.()
  }

  /**
   * tick claims as many due jobs as there are free slots and runs them to the end; it returns how many it ran.
   * For tests and one-shot use; do not mix with {@link start}.
   */
  async tick(): Promise<number> {
    const jobs = await this.claim(this.opts.concurrency - this.running.size)
    await Promise.all(jobs.map((job) => this.launch(job).done))
    return jobs.length
  }

  /**
   * stop stops claiming, lets running jobs finish for shutdownGraceMs, then aborts the rest and hands them back
   * to the queue (released, without counting the attempt).
   */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown()
    return this.stopped
  }

  private async shutdown(): Promise<void> {
    this.stopping = true
    this.wake()
    await this.loop
    await this.settle(this.opts.shutdownGraceMs)
    for (const r of this.running.values()) r.controller.abort(new ShuttingDown())
    // A handler that ignores its signal is not waited for forever: its lease expires and another worker takes over.
    await this.settle(Math.max(1000, this.opts.shutdownGraceMs))
    if (this.running.size > 0) {
      this.deps.log.warn({ worker: this.id, jobs: [...this.running.keys()] }, 'jobs still running at exit')
    }
  }

  /** settle waits until no job runs, or ms passed. */
  private async settle(ms: number): Promise<void> {
    if (this.running.size === 0) return
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.allSettled([...this.running.values()].map((r) => r.done)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms)
      }),
    ])
    clearTimeout(timer)
  }

  private async claim(limit: number): Promise<JobRow[]> {
    if (limit <= 0 || this.stopping) return []
    return claimJobs(this.deps.catalog, {
      workerId: this.id,
      kinds: this.kinds,
      limit,
      leaseMs: this.opts.leaseMs,
    })
  }

  private async claimLoop(): Promise<void> {
    while (!this.stopping) {
      let claimed = 0
      const free = this.opts.concurrency - this.running.size
      try {
        const jobs = await this.claim(free)
        claimed = jobs.length
        for (const job of jobs) this.launch(job)
      } catch (err) {
        // An outage is logged once by the catalog's health watcher; the loop just keeps polling until it ends.
        if (isCatalogUnavailable(err)) this.deps.log.debug({ err, worker: this.id }, 'claiming jobs failed')
        else this.deps.log.error({ err, worker: this.id }, 'claiming jobs failed')
      }
      if (claimed === 0) await this.prune()
      // All slots busy: wait for one to free up. Queue drained: wait a poll interval (or a wake).
      if (claimed === 0 || claimed >= free) await this.sleep(this.opts.pollIntervalMs)
    }
  }

  private async prune(): Promise<void> {
    const keep = this.opts.jobRetentionMs ?? 7 * 24 * 3600_000
    if (keep <= 0 || Date.now() - this.prunedAt < 3600_000) return
    this.prunedAt = Date.now()
    try {
      const n = await pruneJobs(this.deps.catalog.db, new Date(Date.now() - keep))
      if (n > 0) this.deps.log.info({ worker: this.id, jobs: n }, 'pruned ended jobs')
    } catch (err) {
      this.deps.log.warn({ err, worker: this.id }, 'pruning ended jobs failed')
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.wakeSleeper = () => {
        this.wakeSleeper = undefined
        done()
      }
    })
  }

  private launch(job: JobRow): Running {
    const controller = new AbortController()
    const entry: Running = { job, controller, done: Promise.resolve() }
    this.running.set(job.id, entry)
    entry.done = this.execute(job, controller)
      .catch((err) => this.deps.log.error({ err, job: job.id, kind: job.kind }, 'job bookkeeping failed'))
      .finally(() => {
        this.running.delete(job.id)
        this.wake()
      })
    return entry
  }

  private async execute(job: JobRow, controller: AbortController): Promise<void> {
    const { catalog, log } = this.deps
    const db = catalog.db
    const handler = this.handlers.get(job.kind)
    const ctx: JobContext = { ...this.deps, signal: controller.signal, job, workerId: this.id }
    const logCtx = { job: job.id, kind: job.kind, attempt: job.attempts, worker: this.id }
    if (!handler) {
      await failJob(db, job, this.id, `no handler for job kind ${job.kind}`, null)
      recordJobOutcome(job.kind, 'failed')
      return
    }
    let payload: unknown
    try {
      payload = JSON.parse(job.payload)
    } catch {
      await failJob(db, job, this.id, 'payload is not valid JSON', null)
      recordJobOutcome(job.kind, 'failed')
      return
    }
    if (isExhausted(job)) {
      const reason = `gave up after ${job.max_attempts} attempts${job.last_error ? `: ${job.last_error}` : ' (its worker stopped before finishing)'}`
      log.warn(logCtx, reason)
      await this.giveUp(handler, ctx, payload, job.last_error ?? reason)
      await failJob(db, job, this.id, reason, null)
      recordJobOutcome(job.kind, 'failed')
      return
    }
    let lost = false
    const heartbeat = setInterval(
      () => {
        extendLease(db, job, this.id, this.opts.leaseMs).then(
          (held) => {
            if (!held && !lost) {
              lost = true
              log.warn(logCtx, 'job lease lost; another worker may run it')
              controller.abort(new LeaseLost())
            }
          },
          (err) => log.warn({ ...logCtx, err }, 'renewing the job lease failed'),
        )
      },
      Math.max(50, Math.floor(this.opts.leaseMs / 3)),
    )
    heartbeat.unref()
    log.debug(logCtx, 'job started')
    let outcome: JobOutcome | undefined
    try {
      outcome = await handler.run(ctx, payload)
    } catch (err) {
      if (lost) return recordJobOutcome(job.kind, 'lost')
      if (controller.signal.reason instanceof ShuttingDown) {
        await releaseJob(db, job, this.id)
        recordJobOutcome(job.kind, 'released')
        log.info(logCtx, 'job handed back at shutdown')
        return
      }
      const message = errorMessage(err)
      const permanent = err instanceof PermanentJobError
      const willRetry = !permanent && job.attempts < job.max_attempts
      if (!willRetry) await this.giveUp(handler, ctx, payload, message)
      const retryAt = willRetry ? new Date(Date.now() + (handler.backoff ?? backoffDelay)(job.attempts)) : null
      const result = await failJob(db, job, this.id, message, retryAt)
      recordJobOutcome(job.kind, result)
      log[result === 'failed' ? 'error' : 'warn']({ ...logCtx, err, result, retryAt }, `job failed: ${message}`)
      return
    } finally {
      clearInterval(heartbeat)
    }
    if (lost) return recordJobOutcome(job.kind, 'lost')
    if (outcome?.rescheduleAt) {
      await rescheduleJob(db, job, this.id, outcome.rescheduleAt)
      recordJobOutcome(job.kind, 'rescheduled')
      log.debug({ ...logCtx, runAt: outcome.rescheduleAt }, 'job rescheduled')
    } else if (await completeJob(db, job, this.id)) {
      recordJobOutcome(job.kind, 'done')
      log.debug(logCtx, 'job done')
    } else {
      recordJobOutcome(job.kind, 'lost')
      log.warn(logCtx, 'job finished after its lease was lost')
    }
  }

  private async giveUp(handler: JobHandler<unknown>, ctx: JobContext, payload: unknown, error: string) {
    if (!handler.giveUp) return
    try {
      await handler.giveUp(ctx, payload, error)
    } catch (err) {
      this.deps.log.error({ err, job: ctx.job.id }, 'giving up on the job failed')
    }
  }
}
