/**
 * The load generator: `wrk` (Debian package wrk), pinned to CPU 1 with taskset, one thread, a fixed number of
 * connections and a fixed duration. bench/wrk.lua prints the summary as JSON; headers go on the command line.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { ensureDebianPackage } from './apt.ts'
import { assertRunning, cleanup } from './procs.ts'

const SCRIPT = fileURLToPath(new URL('./wrk.lua', import.meta.url))

/** One wrk run. */
export interface WrkResult {
  requests: number
  seconds: number
  rps: number
  /** Latency percentiles in milliseconds. */
  p50: number
  p99: number
  /** Answers with a status outside 2xx/3xx (wrk's "Non-2xx or 3xx responses"). */
  non2xx3xx: number
  /** Connect, read, write errors and timeouts. */
  socketErrors: number
}

export interface WrkOptions {
  url: string
  headers: Record<string, string>
  seconds: number
  connections: number
  cpu: number
}

/** ensureWrk installs the Debian package wrk when it is missing (as root, or through sudo when available). */
export function ensureWrk(): void {
  ensureDebianPackage('wrk', 'wrk')
}

/** runWrk runs one bounded wrk measurement; it is killed if it outlives its duration by 30 s. */
export async function runWrk(opts: WrkOptions): Promise<WrkResult> {
  const args = ['-c', String(opts.cpu), 'wrk', '-t1', `-c${opts.connections}`, `-d${opts.seconds}s`]
  args.push('--timeout', '10s', '-s', SCRIPT)
  for (const [name, value] of Object.entries(opts.headers)) args.push('-H', `${name}: ${value}`)
  args.push(opts.url)
  assertRunning()
  const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const stop = cleanup('wrk', () => {
    child.kill('SIGKILL')
  })
  const killer = setTimeout(() => child.kill('SIGKILL'), (opts.seconds + 30) * 1000)
  let out = ''
  let err = ''
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString()
  })
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString()
  })
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  })
  clearTimeout(killer)
  await stop()
  const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '))
  if (code !== 0 || !line) throw new Error(`wrk failed (exit ${code}): ${(err || out).trim().slice(0, 500)}`)
  const s = JSON.parse(line.slice('BENCH_JSON '.length)) as Record<string, number>
  const seconds = s.durationUs / 1e6
  return {
    requests: s.requests,
    seconds,
    rps: s.requests / seconds,
    p50: s.p50Us / 1000,
    p99: s.p99Us / 1000,
    non2xx3xx: s.status,
    socketErrors: s.connect + s.read + s.write + s.timeout,
  }
}
