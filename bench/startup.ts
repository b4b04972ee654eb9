/**
 * `npm run bench:startup [-- --runs 5]`
 *
 * Measures the time from spawning `node bin/pkgway.js serve` (embedded SQLite and filesystem store in a fresh
 * temporary data directory) to its first answered `GET /v1/ping`, the way an operator or an orchestrator sees a
 * start. The first run also fills tsx's transform cache, so it is reported apart. Loopback only.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } })
const runs = Math.min(Math.max(Number(values.runs) || 5, 1), 20)
const bin = fileURLToPath(new URL('../bin/pkgway.js', import.meta.url))

/** startOnce returns the milliseconds from spawn to the first 200 of /v1/ping. */
async function startOnce(): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'pkgway-bench-start-'))
  const t0 = performance.now()
  const child = spawn(process.execPath, [bin, 'serve'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { PATH: process.env.PATH, HOME: dir, PKGWAY_HOST: '127.0.0.1', PORT: '0', PKGWAY_LOG_LEVEL: 'warn' },
  })
  let out = ''
  child.stdout!.on('data', (d) => {
    out += String(d)
  })
  try {
    for (;;) {
      const url = /^pkgway: listening on (\S+)$/m.exec(out)?.[1]
      if (url) {
        const res = await fetch(`${url}/v1/ping`).catch(() => null)
        if (res?.status === 200) return performance.now() - t0
      }
      if (child.exitCode !== null || performance.now() - t0 > 60_000) throw new Error(`no start:\n${out}`)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  } finally {
    child.kill('SIGTERM')
    await new Promise((resolve) => child.on('close', resolve))
    await rm(dir, { recursive: true, force: true })
  }
}

const first = await startOnce()
const times: number[] = []
for (let i = 0; i < runs; i++) times.push(await startOnce())
times.sort((a, b) => a - b)
const ms = (v: number) => `${Math.round(v)} ms`
console.log(`startup to first /v1/ping: first (cold tsx cache) ${ms(first)}`)
console.log(
  `  ${runs} warm runs: min ${ms(times[0])}  median ${ms(times[Math.floor(times.length / 2)])}  max ${ms(times.at(-1)!)}`,
)
