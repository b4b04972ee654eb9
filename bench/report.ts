/** The bench's output: the machine, then Markdown tables (readable in a terminal, pasted as is into README.md). */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { availableParallelism, loadavg, release } from 'node:os'
import type { CaseResult, ColdResult, Run } from './measure.ts'
import { CATALOG_LABEL, type CatalogKind } from './targets.ts'

/** median of a non-empty list (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** machine describes where the numbers come from. */
export function machine(): string[] {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8')
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown'
  const wrk = spawnSync('wrk', ['--version'], { encoding: 'utf8' }).stdout?.split('\n')[0]?.split(' [')[0] ?? '?'
  const load = loadavg()
  const lines = [
    `- CPU: ${model}, nproc ${availableParallelism()}`,
    `- Node.js ${process.version}, ${wrk}, Linux ${release()}`,
    `- load average at start: ${load.map((l) => l.toFixed(2)).join(' ')}`,
  ]
  if (load[0] > 1) {
    lines.push(
      '- other processes were using the CPUs: absolute numbers are low and noisy; the ratios compare interleaved runs',
    )
  }
  return lines
}

const table = (head: string[], rows: string[][]): string[] => [
  `| ${head.join(' | ')} |`,
  `| ${head.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`,
  ...rows.map((r) => `| ${r.join(' | ')} |`),
]

const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2))

const pct = (v: number) => `${Math.round(v * 100)}%`

/** size writes a body length in kB or MB (powers of 1000), two or three significant digits. */
function size(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`
  const [value, unit] = bytes < 1e6 ? [bytes / 1e3, 'kB'] : [bytes / 1e6, 'MB']
  return `${value.toFixed(value < 10 ? 1 : 0)} ${unit}`
}

/** replayed says what the reference answers: `fixed 303`, `same 18 kB`, `304`. */
function replayed(r: CaseResult): string {
  if (r.c.reference === 'fixed redirect') return `fixed ${r.c.status}`
  if (r.c.reference === 'same bytes') return `same ${size(r.bytes)}`
  return r.c.reference
}

function cells(runs: Run[]): string[] {
  const bad = runs.reduce((n, r) => n + r.non2xx3xx, 0)
  const socket = runs.reduce((n, r) => n + r.socketErrors, 0)
  return [
    Math.round(median(runs.map((r) => r.rps))).toString(),
    ms(median(runs.map((r) => r.p50))),
    ms(median(runs.map((r) => r.p99))),
    socket > 0 ? `${bad} (+${socket} socket errors)` : String(bad),
    `${pct(median(runs.map((r) => r.serverCpu)))} / ${pct(median(runs.map((r) => r.loadCpu)))}`,
  ]
}

/**
 * warmTable is the one table of warm cases: a gateway row and its reference row per case and catalog, and a row of
 * the foreign server some cases compare with, whose last cell is the gateway's req/s as a multiple of its own.
 */
export function warmTable(phases: Array<{ kind: CatalogKind; results: CaseResult[] }>): string[] {
  const rows: string[][] = []
  for (const { kind, results } of phases) {
    for (const r of results) {
      const ratio = median(r.gateway.map((x) => x.rps)) / median(r.reference.map((x) => x.rps))
      rows.push([r.c.name, `pkgway, ${CATALOG_LABEL[kind]}`, ...cells(r.gateway), `${ratio.toFixed(2)}×`])
      rows.push(['', `fastify, ${replayed(r)}`, ...cells(r.reference), ''])
      if (r.foreign) {
        const times = median(r.gateway.map((x) => x.rps)) / median(r.foreign.runs.map((x) => x.rps))
        rows.push(['', r.foreign.label, ...cells(r.foreign.runs), `pkgway ${times.toFixed(times < 10 ? 2 : 1)}× this`])
      }
    }
  }
  return table(['case', 'target', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx/3xx', 'CPU target / wrk', 'vs reference'], rows)
}

/** coldTable reports the first request after a publish, apart from the warm numbers. */
export function coldTable(phases: Array<{ kind: CatalogKind; results: ColdResult[] }>): string[] {
  const rows: string[][] = []
  for (const { kind, results } of phases) {
    for (const r of results) {
      const range = `${ms(Math.min(...r.firstMs))}–${ms(Math.max(...r.firstMs))}`
      rows.push([
        r.c.name,
        `pkgway, ${CATALOG_LABEL[kind]}`,
        String(r.firstMs.length),
        ms(median(r.publishMs)),
        `${ms(median(r.firstMs))} (${range})`,
        ms(median(r.nextMs)),
      ])
    }
  }
  return table(['cold case', 'target', 'reps', 'publish ms', 'first request ms (min–max)', 'next request ms'], rows)
}
