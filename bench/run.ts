/**
 * `npm run bench [-- --quick] [-- --seconds 5 --connections 32 --starts 5 --runs 1 --warmup 1 --cold-reps 5
 *  --catalog both|sqlite|postgres --only <text>]`
 *
 * Measures the gateway's warm read path against a bare Fastify server answering the same bytes, side by side in
 * one run: for each catalog (SQLite, PostgreSQL) it seeds a fresh catalog, starts the gateway and the reference
 * pinned to CPU 0 and drives each with wrk pinned to CPU 1, over loopback only; a few cases also measure another
 * server with the same content (Verdaccio, docker-registry: bench/foreign.ts). Then it times the first request
 * after a publish. It prints the machine and two Markdown tables, and stops everything it started, also on error
 * and on SIGINT/SIGTERM. See bench/README.md.
 */
import { spawnSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { availableParallelism, loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { ensureDebianPackage } from './apt.ts'
import { type BenchCase, CASES, COLD_CASES, PAGE_SIZES } from './cases.ts'
import { ensureForeign } from './foreign.ts'
import { type CaseResult, type ColdResult, type LoadOptions, measureCases, measureCold } from './measure.ts'
import { runCleanup, shutdown } from './procs.ts'
import { coldTable, machine, warmTable } from './report.ts'
import { type CatalogKind, checkPostgres, startGateway } from './targets.ts'
import { ensureWrk } from './wrk.ts'

/** int reads a whole-number option within [min, max]. */
function int(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be a whole number in ${min}..${max}`)
  return n
}

/** settings reads the command line; every option is bounded, so a run always ends. */
function settings() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      starts: { type: 'string' },
      runs: { type: 'string' },
      'cold-reps': { type: 'string' },
      catalog: { type: 'string', default: 'both' },
      only: { type: 'string' },
    },
  })
  const quick = values.quick === true
  const load: LoadOptions = {
    seconds: int('seconds', values.seconds, quick ? 2 : 5, 1, 60),
    warmupSeconds: int('warmup', values.warmup, 1, 1, 30),
    connections: int('connections', values.connections, 32, 1, 1024),
    starts: int('starts', values.starts, 5, 1, 9),
    runs: int('runs', values.runs, 1, 1, 9),
  }
  const coldReps = int('cold-reps', values['cold-reps'], quick ? 3 : 5, 0, 20)
  const kinds: Record<string, CatalogKind[]> = {
    both: ['sqlite', 'postgres'],
    sqlite: ['sqlite'],
    postgres: ['postgres'],
  }
  const catalogs = kinds[values.catalog!]
  if (!catalogs) throw new Error('--catalog must be both, sqlite or postgres')
  const only = values.only?.toLowerCase()
  const matches = (name: string) => !only || name.toLowerCase().includes(only)
  const cases = CASES.filter((c) => matches(c.name))
  const coldCases = coldReps === 0 ? [] : COLD_CASES.filter((c) => matches(c.name))
  if (cases.length + coldCases.length === 0) throw new Error(`no case matches --only ${values.only}`)
  // The draft releases each pool needs for the cold cases.
  const drafts: Record<string, number> = {}
  for (const c of coldCases) drafts[c.pool] = (drafts[c.pool] ?? 0) + coldReps
  return { load, coldReps, catalogs, cases, coldCases, drafts }
}

/** preflight checks the machine and installs what is missing: wrk, umoci (the seed's image), foreign servers. */
function preflight(cases: BenchCase[]): void {
  if (availableParallelism() < 2) throw new Error('the bench needs 2 CPUs: the targets run on CPU 0, wrk on CPU 1')
  if (spawnSync('taskset', ['-V'], { stdio: 'ignore' }).error) throw new Error('taskset (util-linux) is missing')
  ensureWrk()
  ensureDebianPackage('umoci', 'umoci')
  ensureForeign(new Set(cases.flatMap((c) => (c.foreign ? [c.foreign.target] : []))))
}

/** reportLog shows the gateway's log lines (JSON, warn level and above) before its directory goes away. */
async function reportLog(file: string): Promise<void> {
  const lines = (await readFile(file, 'utf8').catch(() => '')).split('\n').filter((l) => l.startsWith('{'))
  if (lines.length === 0) return
  process.stderr.write(
    `bench: the gateway logged ${lines.length} warnings or errors; the last ones:\n${lines.slice(-5).join('\n')}\n`,
  )
}

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    process.stderr.write(`\nbench: ${signal}, stopping everything it started\n`)
    shutdown().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143))
  })
}

async function main(): Promise<void> {
  const began = Date.now()
  const { load, coldReps, catalogs, cases, coldCases, drafts } = settings()
  preflight(cases)
  if (catalogs.includes('postgres')) await checkPostgres()
  const header = [
    '## pkgway bench',
    '',
    ...machine(),
    `- wrk -t1 -c${load.connections} -d${load.seconds}s; gateway and reference started ${load.starts} times, ${load.runs} run(s) per target and start after a ${load.warmupSeconds} s warm-up; medians of the ${load.starts * load.runs} runs; targets on CPU 0, wrk on CPU 1`,
    '',
  ]
  const targets = cases.reduce((n, c) => n + (c.foreign ? 3 : 2), 0)
  const perCatalog = targets * load.starts * (load.warmupSeconds + load.runs * load.seconds) + 10 * load.starts + 30
  const minutes = Math.ceil((catalogs.length * perCatalog) / 60)
  process.stderr.write(`bench: ${cases.length} cases on ${catalogs.join(' and ')}, about ${minutes} min\n`)
  const warm: Array<{ kind: CatalogKind; results: CaseResult[] }> = []
  const cold: Array<{ kind: CatalogKind; results: ColdResult[] }> = []
  for (const kind of catalogs) {
    process.stderr.write(`bench: ${kind}: seeding and starting the gateway\n`)
    const gw = await startGateway(kind, drafts, [...PAGE_SIZES])
    if (cases.length > 0) warm.push({ kind, results: await measureCases(gw, cases, load) })
    if (coldCases.length > 0) {
      process.stderr.write(`bench: ${kind}: cold cases\n`)
      cold.push({ kind, results: await measureCold(gw, coldCases, coldReps) })
    }
    await reportLog(gw.log)
    await runCleanup()
  }
  const out = [...header]
  if (warm.length > 0) out.push(...warmTable(warm), '')
  if (cold.length > 0) out.push(...coldTable(cold), '')
  const end = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')
  out.push(`Took ${Math.round((Date.now() - began) / 1000)} s; load average at the end: ${end}.`)
  process.stdout.write(`${out.join('\n')}\n`)
}

try {
  await main()
} catch (err) {
  if (!stopping) process.stderr.write(`bench: ${(err as Error).message}\n`)
  process.exitCode = 1
} finally {
  if (!stopping) await runCleanup()
}
