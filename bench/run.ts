/**
 * `npm run bench [-- --requests 5000 --connections 10 --seconds 10]`
 *
 * Starts the gateway on 127.0.0.1 (filesystem store, temporary SQLite) and measures requests/s and p50/p99 latency
 * of GET /v1/ping, a gateway-signed blob GET of a 64 KiB object, a PyPI project page of 50 releases (served from
 * the index cache) and a Raw engine redirect authorized by a license key. It uses autocannon when it is installed,
 * otherwise a bounded loop of undici requests. Every scenario stops at --requests or --seconds, whichever comes
 * first; nothing leaves the loopback interface. Client and server share one process, so the numbers compare
 * changes on one machine rather than measure capacity.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { Pool } from 'undici'
import { loadConfig } from '../config/load.ts'
import { buildApp } from '../gateway/app.ts'
import { openServices } from '../gateway/server.ts'
import type { Executor } from '../gateway/catalog/accounts.ts'
import type { AccountRow } from '../gateway/catalog/types.ts'
import { seedArtifact, seedLicense, seedPackage, seedPolicy, seedProduct, seedRelease } from '../test/helpers/seed.ts'

/** What a successful answer looks like: its status and, when fixed, its length. */
interface Expect {
  status: number
  bytes?: number
}

interface Result {
  tool: string
  requests: number
  errors: number
  seconds: number
  rps: number
  p50: number
  p99: number
}

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '5000' },
    connections: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '10' },
  },
})
const limits = {
  requests: Math.min(Number(values.requests), 200_000),
  connections: Math.min(Number(values.connections), 256),
  seconds: Math.min(Number(values.seconds), 60),
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

/** withUndici keeps `connections` requests in flight until the request or time budget is spent. */
async function withUndici(url: URL, expect: Expect, budget = limits.requests): Promise<Result> {
  const pool = new Pool(url.origin, { connections: limits.connections, pipelining: 1 })
  const path = url.pathname + url.search
  const latencies: number[] = []
  let started = 0
  let errors = 0
  const begin = performance.now()
  const deadline = begin + limits.seconds * 1000
  const worker = async () => {
    while (started < budget && performance.now() < deadline) {
      started++
      const t0 = performance.now()
      try {
        const res = await pool.request({ path, method: 'GET' })
        const body = Buffer.from(await res.body.arrayBuffer())
        if (res.statusCode !== expect.status || (expect.bytes !== undefined && body.length !== expect.bytes)) errors++
      } catch {
        errors++
      }
      latencies.push(performance.now() - t0)
    }
  }
  await Promise.all(Array.from({ length: limits.connections }, worker))
  const seconds = (performance.now() - begin) / 1000
  await pool.close()
  latencies.sort((a, b) => a - b)
  return {
    tool: 'undici',
    requests: latencies.length,
    errors,
    seconds,
    rps: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  }
}

interface AutocannonResult {
  requests: { total: number; average: number }
  latency: { p50: number; p99: number }
  duration: number
  errors: number
  non2xx: number
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>

async function loadAutocannon(): Promise<Autocannon | null> {
  const name = 'autocannon' // a variable, so TypeScript does not require the optional package
  try {
    return ((await import(name)) as { default: Autocannon }).default
  } catch {
    return null
  }
}

async function withAutocannon(autocannon: Autocannon, url: URL, expect: Expect): Promise<Result> {
  const r = await autocannon({
    url: url.toString(),
    connections: limits.connections,
    amount: limits.requests,
    duration: limits.seconds,
  })
  return {
    tool: 'autocannon',
    requests: r.requests.total,
    // autocannon counts redirects as non-2xx; they are the expected answer of redirect scenarios.
    errors: r.errors + (expect.status < 300 ? r.non2xx : 0),
    seconds: r.duration,
    rps: r.requests.total / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
  }
}

/**
 * seedCatalog makes a LICENSED product `bench` with a PyPI package of 50 published releases, one verified wheel each
 * (the last tagged `latest`), and a license allowed to authenticate with its key; it returns the key.
 */
async function seedCatalog(db: Executor, account: AccountRow): Promise<string> {
  const product = await seedProduct(db, account, { code: 'bench' })
  const pkg = await seedPackage(db, account, { product, key: 'bench-pkg', engine: 'pypi' })
  const policy = await seedPolicy(db, account, { product, authenticationStrategy: 'LICENSE' })
  const license = await seedLicense(db, account, { policy })
  for (let i = 0; i < 50; i++) {
    const release = await seedRelease(db, account, {
      product,
      package: pkg,
      version: `1.${i}.0`,
      status: 'PUBLISHED',
      tag: i === 49 ? 'latest' : null,
    })
    await seedArtifact(db, account, { release, filename: `bench_pkg-1.${i}.0-py3-none-any.whl` })
    await seedArtifact(db, account, { release, filename: 'bench.bin' })
  }
  return license.key
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'pkgway-bench-'))
  const config = loadConfig({
    env: {},
    overrides: { host: '127.0.0.1', port: 0, dataDir: dir, logLevel: 'silent' },
  })
  const services = await openServices(config)
  const app = await buildApp({ config, ...services })
  try {
    const origin = await app.listen({ host: '127.0.0.1', port: 0 })
    const blob = randomBytes(64 * 1024)
    await services.blobs.write('artifacts/bench/release/blob-64k.bin', blob)
    const blobUrl = await services.blobs.redirectUrl('artifacts/bench/release/blob-64k.bin', 'GET', {
      baseUrl: `${origin}/`,
      ttl: 3600,
    })
    const key = await seedCatalog(services.catalog.db, services.boot.account as never)
    const scenarios: Array<[string, URL, Expect]> = [
      ['GET /v1/ping', new URL('/v1/ping', origin), { status: 200, bytes: Buffer.byteLength('{"status":"ok"}') }],
      ['GET signed blob (64 KiB)', new URL(blobUrl), { status: 200, bytes: blob.length }],
      [
        'GET PyPI project page (50 releases)',
        new URL(`/v1/engines/pypi/simple/bench-pkg/?auth=license:${key}`, origin),
        { status: 200 },
      ],
      [
        'GET Raw engine redirect (license key)',
        new URL(`/v1/engines/raw/bench/@bench-pkg/latest/bench.bin?auth=license:${key}`, origin),
        { status: 303 },
      ],
    ]
    const autocannon = await loadAutocannon()
    console.log(
      `pkgway bench: ${origin}, ${limits.connections} connections, at most ${limits.requests} requests or ${limits.seconds} s per scenario`,
    )
    const rows: Record<string, Record<string, string | number>> = {}
    for (const [name, url, expected] of scenarios) {
      // A short warm-up, so the first JIT and connection costs do not land in the numbers.
      await withUndici(url, expected, Math.min(200, limits.requests))
      const r = autocannon ? await withAutocannon(autocannon, url, expected) : await withUndici(url, expected)
      rows[name] = {
        tool: r.tool,
        requests: r.requests,
        errors: r.errors,
        'req/s': Math.round(r.rps),
        'p50 ms': Number(r.p50.toFixed(2)),
        'p99 ms': Number(r.p99.toFixed(2)),
      }
    }
    console.table(rows)
  } finally {
    await app.close()
    await services.catalog.close()
    await rm(dir, { recursive: true, force: true })
  }
}

await main()
