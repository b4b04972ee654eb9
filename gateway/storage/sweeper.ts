import type { BlobStore } from './blob-store.ts'

/** How often a running gateway sweeps temporary files. */
export const SWEEP_INTERVAL_MS = 10 * 60_000

interface SweepLogger {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
}

export interface TempSweeper {
  stop(): void
}

/** sweepOnce runs one sweep of the store's temporary files, logging what it removed; failures are logged, not thrown. */
export async function sweepOnce(blobs: BlobStore, log: SweepLogger): Promise<void> {
  if (!blobs.sweepTemporary) return
  try {
    const { files, bytes } = await blobs.sweepTemporary()
    if (files > 0) log.info({ store: blobs.name, files, bytes }, 'removed stale temporary files')
  } catch (err) {
    log.warn({ err, store: blobs.name }, 'sweeping temporary files failed')
  }
}

/**
 * startTempSweeper sweeps the store's temporary files now (awaited, so a restart starts clean) and then every
 * {@link SWEEP_INTERVAL_MS} until stop().
 */
export async function startTempSweeper(
  blobs: BlobStore,
  log: SweepLogger,
  intervalMs = SWEEP_INTERVAL_MS,
): Promise<TempSweeper> {
  await sweepOnce(blobs, log)
  const timer = setInterval(() => void sweepOnce(blobs, log), intervalMs)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}
