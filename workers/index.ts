import type { Catalog } from '../gateway/catalog/db.ts'
import type { BlobStore } from '../gateway/storage/blob-store.ts'
import {
  DEFAULT_PROCESSING,
  processUploadHandler,
  type UploadProcessingOptions,
  type WaitTiming,
  waitForUploadHandler,
} from './process-upload/index.ts'
import { resolveLimits, type UploadLimits } from './process-upload/limits.ts'
import { ociIngestHandler } from './oci-ingest/index.ts'
import { type OciIngestLimits, resolveOciLimits } from './oci-ingest/limits.ts'
import { defaultWorkerId, type JobHandler, Worker, type WorkerLogger } from './runner.ts'

/**
 * Background workers. `pkgway serve` runs them in-process (config.workers.inProcess) and `pkgway worker` runs them
 * alone; any number of both may share one catalog (see queue.ts for why that is safe).
 */

export interface WorkerConfig {
  /** Accepted and ignored, so `config.workers` can be passed as it is. */
  inProcess?: boolean
  /** Jobs run at once (default 2). */
  concurrency?: number
  /** Wait between claims while the queue is empty (default 500 ms). */
  pollIntervalMs?: number
  /**
   * Job lease, renewed every third of it while the job runs (a heartbeat); a dead worker's jobs are reclaimed
   * at most this long after it died (default 10 s).
   */
  leaseMs?: number
  /** On stop, time running jobs get to finish before they are aborted and handed back (default 10 s). */
  shutdownGraceMs?: number
  /** Ended jobs are deleted after this long (default 7 days; 0 keeps them). */
  jobRetentionMs?: number
  /** Name in jobs.locked_by (default host:pid:random). */
  workerId?: string
  /** Upload processing limits (see process-upload/limits.ts). */
  limits?: Partial<UploadLimits>
  /** OCI image ingestion limits (see oci-ingest/limits.ts). */
  ociLimits?: Partial<OciIngestLimits>
  /** wait-for-upload polling (2 s for the first minute, then 30 s, up to one hour). */
  wait?: Partial<WaitTiming>
  /** First retry delay of failed jobs, doubling per attempt (default 2 s). */
  retryBaseMs?: number
  /** Replaces the default handlers (process-upload, wait-for-upload, oci-ingest). */
  handlers?: readonly JobHandler<unknown>[]
}

/** Default job lease: short, so a killed worker's job runs again within seconds; the heartbeat keeps it. */
export const DEFAULT_LEASE_MS = 10_000

export interface StartWorkersInput {
  catalog: Catalog
  blobs: BlobStore
  config?: WorkerConfig
  log: WorkerLogger
}

export interface RunningWorkers {
  readonly id: string
  /** Claim at once instead of at the next poll (call after enqueueing in this process). */
  wake(): void
  /** Stop claiming, let running jobs finish (or hand them back after the grace period). */
  stop(): Promise<void>
}

export function processingOptions(config: WorkerConfig = {}): UploadProcessingOptions {
  return {
    limits: resolveLimits(config.limits),
    wait: { ...DEFAULT_PROCESSING.wait, ...config.wait },
    retryBaseMs: config.retryBaseMs ?? DEFAULT_PROCESSING.retryBaseMs,
  }
}

/** defaultHandlers are the job kinds a worker runs: process-upload, wait-for-upload and oci-ingest. */
export function defaultHandlers(config: WorkerConfig = {}): JobHandler<unknown>[] {
  const opts = processingOptions(config)
  return [
    processUploadHandler(opts),
    waitForUploadHandler(opts),
    ociIngestHandler(resolveOciLimits(config.ociLimits), opts.retryBaseMs),
  ]
}

/** createWorker builds a worker without starting it (tests drive it with tick()). */
export function createWorker(input: StartWorkersInput): Worker {
  const config = input.config ?? {}
  return new Worker(
    { catalog: input.catalog, blobs: input.blobs, log: input.log },
    {
      workerId: config.workerId ?? defaultWorkerId(),
      concurrency: config.concurrency ?? 2,
      pollIntervalMs: config.pollIntervalMs ?? 500,
      leaseMs: config.leaseMs ?? DEFAULT_LEASE_MS,
      shutdownGraceMs: config.shutdownGraceMs ?? 10_000,
      jobRetentionMs: config.jobRetentionMs,
      handlers: config.handlers ?? defaultHandlers(config),
    },
  )
}

/** startWorkers starts the claim loop; stop() before closing the catalog. */
export function startWorkers(input: StartWorkersInput): RunningWorkers {
  const worker = createWorker(input).start()
  input.log.info({ worker: worker.id, kinds: worker.kinds }, 'workers started')
  return {
    id: worker.id,
    wake: () => worker.wake(),
    stop: async () => {
      await worker.stop()
      input.log.info({ worker: worker.id }, 'workers stopped')
    },
  }
}

export type { JobContext, JobHandler, JobOutcome, WorkerLogger } from './runner.ts'
export { PermanentJobError, Worker } from './runner.ts'
export * from './kinds.ts'
export * from '../gateway/catalog/jobs.ts'
