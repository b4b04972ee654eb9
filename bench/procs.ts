/**
 * Child processes of a bench run, and the one place that stops them: every process and temporary resource is
 * registered with {@link cleanup} as soon as it exists, and {@link runCleanup} undoes them newest first, on
 * success, on error and on SIGINT/SIGTERM alike.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { openSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

const undo: Array<{ what: string; fn: () => Promise<void> | void }> = []
let shuttingDown = false

/** assertRunning throws once {@link shutdown} has begun, so nothing new starts while everything is stopping. */
export function assertRunning(): void {
  if (shuttingDown) throw new Error('the bench is stopping')
}

/** shutdown runs every cleanup step and refuses new processes from then on (signals end the run this way). */
export async function shutdown(): Promise<void> {
  shuttingDown = true
  await runCleanup()
}

/** cleanup registers fn to run at the end of the bench (newest first); it returns a function that runs it early. */
export function cleanup(what: string, fn: () => Promise<void> | void): () => Promise<void> {
  const entry = { what, fn }
  undo.push(entry)
  return async () => {
    const at = undo.indexOf(entry)
    if (at < 0) return
    undo.splice(at, 1)
    await fn()
  }
}

/** runCleanup runs every registered step, newest first; a failing step is reported and the rest still run. */
export async function runCleanup(): Promise<void> {
  while (undo.length > 0) {
    const { what, fn } = undo.pop()!
    try {
      await fn()
    } catch (err) {
      process.stderr.write(`bench: cleanup of ${what} failed: ${(err as Error).message}\n`)
    }
  }
}

/** freePort asks the kernel for a free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

/** exited resolves once child has exited (immediately when it already has). */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

/** stopChild sends SIGTERM, then SIGKILL when the process has not exited after graceMs. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited(child)
  clearTimeout(timer)
}

export interface PinnedOptions {
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** File that receives the child's stdout and stderr. */
  log: string
  what: string
}

/**
 * spawnPinned starts `taskset -c <cpu> <cmd> <args…>` (taskset execs cmd, so the child's pid is cmd's) and
 * registers its stop with {@link cleanup}; the returned stop function stops it early. Throws once shutdown began.
 */
export function spawnPinned(cpu: number, cmd: string, args: string[], opts: PinnedOptions) {
  assertRunning()
  const fd = openSync(opts.log, 'a')
  const child = spawn('taskset', ['-c', String(cpu), cmd, ...args], {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    stdio: ['ignore', fd, fd],
  })
  const stop = cleanup(opts.what, () => stopChild(child))
  return { child, stop }
}

/**
 * waitReady polls url until it answers 200, failing early when the child exits and after timeoutMs.
 */
export async function waitReady(url: string, child: ChildProcess, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before it was ready`)
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) })
      await res.arrayBuffer()
      if (res.status === 200) return
    } catch {
      // not listening yet
    }
    await sleep(100)
  }
  throw new Error(`${what} was not ready within ${timeoutMs / 1000} s`)
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100

/** statFields reads /proc/<pid>/stat after the command name (field 3, the state, comes first). */
function statFields(pid: number | 'self'): string[] {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return text.slice(text.lastIndexOf(')') + 2).split(' ')
}

/** cpuSeconds is the CPU time (user + system, all threads) process pid has used so far. */
export function cpuSeconds(pid: number): number {
  const f = statFields(pid)
  return (Number(f[11]) + Number(f[12])) / CLK_TCK
}

/** reapedCpuSeconds is the CPU time of this process's children that have exited and been waited for (wrk runs). */
export function reapedCpuSeconds(): number {
  const f = statFields('self')
  return (Number(f[13]) + Number(f[14])) / CLK_TCK
}
