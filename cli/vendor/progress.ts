import cliProgress from 'cli-progress'

/**
 * What the user sees while files go up. On a terminal: one cli-progress bar per file (bytes, rate, ETA, state).
 * Otherwise plain lines, one per event, e.g. `uploaded: app.tar.gz (1.2 MiB)`, fit for CI logs.
 */

export interface FileReport {
  /** The artifact exists and its bytes start going up. */
  started(): void
  /** Bytes sent so far. */
  progress(sent: number): void
  uploaded(): void
  /** An identical artifact was already in the release: nothing sent. */
  reused(): void
  failed(): void
}

export interface Reporter {
  file(filename: string, size: number): FileReport
  /** processed reports an artifact's final processing status. */
  processed(filename: string, status: string, reason?: string): void
  /** line prints a line on stdout (above the bars on a terminal). */
  line(text: string): void
  /** stop ends the bars (idempotent); later lines go straight to stdout. */
  stop(): void
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

/** humanBytes: 512 B, 1.5 KiB, 12.0 MiB. */
export function humanBytes(n: number): string {
  let v = n
  let u = 0
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024
    u++
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${UNITS[u]}`
}

class PlainReporter implements Reporter {
  constructor(private readonly out: NodeJS.WritableStream) {}

  file(filename: string, size: number): FileReport {
    const out = this.out
    return {
      started() {},
      progress() {},
      uploaded: () => out.write(`uploaded: ${filename} (${humanBytes(size)})\n`),
      reused: () => out.write(`unchanged: ${filename} (${humanBytes(size)}, already in the release)\n`),
      failed() {},
    }
  }

  processed(filename: string, status: string): void {
    if (status === 'UPLOADED') this.out.write(`processed: ${filename}\n`)
  }

  line(text: string): void {
    this.out.write(`${text}\n`)
  }

  stop(): void {}
}

type Bar = cliProgress.SingleBar

class BarReporter implements Reporter {
  private readonly multibar: cliProgress.MultiBar
  private readonly bars = new Map<string, { bar: Bar; size: number }>()
  private stopped = false

  private readonly onSignal = () => {
    this.stop()
    process.exit(130)
  }

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly labelWidth: number,
  ) {
    // Ctrl-C while bars are drawn: give the terminal its cursor and line wrapping back before exiting.
    process.once('SIGINT', this.onSignal)
    this.multibar = new cliProgress.MultiBar(
      {
        stream: stream as NodeJS.WriteStream,
        format: '{file} [{bar}] {percentage}% {value}/{total} {rate} ETA {eta_formatted} {state}',
        formatValue: (v, options, type) =>
          type === 'value' || type === 'total' ? humanBytes(v) : cliProgress.Format.ValueFormat(v, options, type),
        barsize: 20,
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        autopadding: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    )
  }

  file(filename: string, size: number): FileReport {
    const w = this.labelWidth
    const label = filename.length > w ? `${filename.slice(0, w - 1)}…` : filename.padEnd(w)
    const total = Math.max(size, 1)
    const bar = this.multibar.create(total, 0, { file: label, rate: '-', state: 'starting' })
    this.bars.set(filename, { bar, size })
    let startedAt = Date.now()
    return {
      started: () => {
        startedAt = Date.now()
        bar.update(0, { state: 'uploading' })
      },
      progress: (sent) => {
        const seconds = (Date.now() - startedAt) / 1000
        bar.update(Math.min(sent, total), { rate: seconds > 0 ? `${humanBytes(Math.round(sent / seconds))}/s` : '-' })
      },
      uploaded: () => bar.update(total, { state: 'uploaded' }),
      reused: () => bar.update(total, { state: 'unchanged', rate: '-' }),
      failed: () => bar.update({ state: 'FAILED' }),
    }
  }

  processed(filename: string, status: string): void {
    const entry = this.bars.get(filename)
    if (!entry) return
    entry.bar.update({ state: status === 'UPLOADED' ? 'processed' : status })
  }

  line(text: string): void {
    if (this.stopped || this.bars.size === 0) this.stream.write(`${text}\n`)
    else this.multibar.log(`${text}\n`)
  }

  stop(): void {
    if (this.stopped) return
    this.stopped = true
    process.removeListener('SIGINT', this.onSignal)
    this.multibar.stop()
  }
}

/** createReporter picks bars when stdout is a terminal (labels as wide as the longest file name, up to 32), plain lines otherwise. */
export function createReporter(filenames: string[], stdout: NodeJS.WriteStream = process.stdout): Reporter {
  const width = Math.min(32, Math.max(1, ...filenames.map((f) => f.length)))
  return stdout.isTTY ? new BarReporter(stdout, width) : new PlainReporter(stdout)
}
