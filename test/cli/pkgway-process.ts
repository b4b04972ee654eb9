import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../../bin/pkgway.js', import.meta.url))

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/**
 * cleanEnv is a minimal environment: no PKGWAY_* or AWS_* leaks in from the machine running the tests, and HOME
 * points at the temporary directory so no ~/.aws files are read.
 */
export function cleanEnv(home: string, env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: home, PKGWAY_LOG_LEVEL: 'warn', ...env }
}

/** A running `pkgway` child process with its output so far. */
export class PkgwayProcess {
  stdout = ''
  stderr = ''
  readonly exited: Promise<Exit>

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d
    })
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d
    })
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => resolve({ code, signal, stdout: this.stdout, stderr: this.stderr }))
    })
  }

  /** listening waits for the "listening on <url>" line and returns the URL; it throws if the process exits first. */
  async listening(timeoutMs = 45_000): Promise<string> {
    const deadline = Date.now() + timeoutMs
    let done = false
    void this.exited.then(() => {
      done = true
    })
    while (Date.now() < deadline) {
      const m = /^pkgway: listening on (\S+)$/m.exec(this.stdout)
      if (m) return m[1]
      if (done) throw new Error(`pkgway exited before listening:\n${this.stdout}\n${this.stderr}`)
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    throw new Error(`pkgway did not listen within ${timeoutMs} ms:\n${this.stdout}\n${this.stderr}`)
  }

  /** stop sends a signal and waits for the exit; it kills the process if it has not exited within timeoutMs. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<Exit & { timedOut: boolean }> {
    this.child.kill(signal)
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<true>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs)
    })
    const first = await Promise.race([this.exited, timedOut])
    clearTimeout(timer)
    if (first === true) {
      this.child.kill('SIGKILL')
      return { ...(await this.exited), timedOut: true }
    }
    return { ...first, timedOut: false }
  }
}

/** startPkgway spawns `node bin/pkgway.js <args>` in cwd with exactly the given environment. */
export function startPkgway(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): PkgwayProcess {
  return new PkgwayProcess(spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: opts.env, stdio: 'pipe' }))
}

/** runPkgway runs a command to completion; it is killed (and the test fails on its output) after timeoutMs. */
export async function runPkgway(
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Exit> {
  const proc = startPkgway(args, opts)
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<Exit>((resolve) => {
    timer = setTimeout(() => {
      proc.child.kill('SIGKILL')
      void proc.exited.then((exit) => resolve({ ...exit, stderr: `${exit.stderr}[killed: timed out]` }))
    }, opts.timeoutMs ?? 45_000)
  })
  const exit = await Promise.race([proc.exited, timeout])
  clearTimeout(timer)
  return exit
}

/** stderrLines splits stderr into its non-empty lines. */
export const stderrLines = (exit: Pick<Exit, 'stderr'>): string[] => exit.stderr.split('\n').filter((l) => l !== '')
