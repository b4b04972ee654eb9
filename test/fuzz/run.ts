import { parseArgs } from 'node:util'
import { runFuzz } from './fuzz.ts'

/**
 * `npm run fuzz [-- --count 100000 --seconds 1200 --seed <n> --concurrency 16 --storage filesystem|s3]`: the full
 * fuzz campaign against a gateway on loopback. Exits 1 when any answer was a 5xx, the process crashed (an uncaught
 * error in the gateway or the fuzzer), or the gateway was not healthy at the end.
 */
const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '1200' },
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    concurrency: { type: 'string', default: '16' },
    storage: { type: 'string', default: 'filesystem' },
  },
})
if (values.storage !== 'filesystem' && values.storage !== 's3') throw new Error('--storage is filesystem or s3')

// Anything that ends the process before the report (a crash of the gateway or of the fuzzer) is a failure.
process.exitCode = 1
const crash = (what: string) => (err: unknown) => {
  console.error(`${what}: ${(err as Error)?.stack ?? err}`)
  process.exit(1)
}
process.on('uncaughtException', crash('uncaught exception'))
process.on('unhandledRejection', crash('unhandled rejection'))

const report = await runFuzz({
  count: Number(values.count),
  maxMs: Number(values.seconds) * 1000,
  seed: Number(values.seed),
  concurrency: Number(values.concurrency),
  storage: values.storage,
  progress: (sent, r) => console.log(`${sent} requests, ${r.serverErrors.length} 5xx, ${r.noAnswer.length} unanswered`),
})
const seconds = (report.elapsedMs / 1000).toFixed(1)
console.log(
  JSON.stringify(
    {
      seed: report.seed,
      storage: values.storage,
      requests: report.sent,
      seconds: Number(seconds),
      perSecond: Math.round(report.sent / (report.elapsedMs / 1000)),
      serverErrors: report.serverErrors.length,
      unanswered: report.noAnswer.length,
      healthy: report.healthy,
      byStatus: report.byStatus,
    },
    null,
    2,
  ),
)
for (const f of report.serverErrors.slice(0, 20)) console.log(`5xx ${f.status}: ${f.request}\n    ${f.body}`)
for (const f of report.noAnswer.slice(0, 10)) console.log(`no answer (${f.status}): ${f.request}\n    ${f.body}`)
process.exit(report.serverErrors.length === 0 && report.healthy ? 0 : 1)
