import { mkdtempSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../config/load.ts'
import { recordRevisionLag } from '../../gateway/metrics.ts'
import { type RunningServer, startServer } from '../../gateway/server.ts'
import { enqueue } from '../../gateway/catalog/jobs.ts'
import { seedProduct, seedRelease } from '../helpers/seed.ts'
import { waitFor } from '../workers/helpers.ts'

const ADMIN = `admin-${'p'.repeat(40)}v3`

/** sample reads the value of one series of a Prometheus text exposition, or undefined when it is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('Prometheus metrics', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pkgway-metrics-'))
  let server: RunningServer
  let text: string

  beforeAll(async () => {
    server = await startServer(
      loadConfig({
        env: {},
        overrides: {
          host: '127.0.0.1',
          port: 0,
          dataDir: dir,
          logLevel: 'silent',
          bootstrapAdminToken: ADMIN,
          metrics: { port: 0 },
          workers: { inProcess: true, pollIntervalMs: 50 },
        },
      }),
      { handleSignals: false },
    )
    const { url } = server
    const db = server.catalog.db
    const account = await db.selectFrom('accounts').selectAll().executeTakeFirstOrThrow()

    // A short load: health, the management API, a PyPI index page twice (a cache miss, then hits), an upload
    // through the gateway that a worker verifies, a job queued for later, and a login flood that gets a 429.
    for (let i = 0; i < 3; i++) expect((await fetch(`${url}/v1/ping`)).status).toBe(200)
    expect((await fetch(`${url}/v1/products`, { headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(200)
    for (let i = 0; i < 2; i++) expect((await fetch(`${url}/v1/engines/pypi/simple/`)).status).toBe(200)
    const product = await seedProduct(db, account, { strategy: 'OPEN' })
    const release = await seedRelease(db, account, { product })
    const created = await fetch(`${url}/v1/artifacts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/vnd.api+json', prefer: 'no-redirect' },
      body: JSON.stringify({
        data: {
          type: 'artifacts',
          attributes: { filename: 'app.bin' },
          relationships: { release: { data: { type: 'releases', id: release.id } } },
        },
      }),
    })
    expect(created.status).toBe(200)
    expect((await fetch(created.headers.get('location')!, { method: 'PUT', body: 'twelve bytes' })).status).toBe(200)
    await waitFor(async () => {
      const a = await db
        .selectFrom('artifacts')
        .select('status')
        .where('release_id', '=', release.id)
        .executeTakeFirst()
      return a?.status === 'UPLOADED'
    }, 15_000)
    await enqueue(db, { kind: 'later', accountId: null, payload: {}, runAt: new Date(Date.now() + 3600_000) })
    let limited = 0
    for (let i = 0; i < 22; i++) {
      const res = await fetch(`${url}/v1/tokens`, { method: 'POST', headers: { authorization: 'Basic eDp5' } })
      if (res.status === 429) limited++
    }
    expect(limited).toBeGreaterThan(0)
    recordRevisionLag(0.2)

    const scrape = await fetch(server.metricsUrl!)
    expect(scrape.status).toBe(200)
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    text = await scrape.text()
  }, 90_000)

  afterAll(async () => {
    await server?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('listens on loopback, on a port of its own', () => {
    expect(server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    expect(new URL(server.metricsUrl!).port).not.toBe(new URL(server.url).port)
  })

  it('is not served on the main port', async () => {
    const res = await fetch(`${server.url}/metrics`)
    expect(res.status).toBe(404)
    expect(((await res.json()) as { errors: { code: string }[] }).errors[0].code).toBe('NOT_FOUND')
  })

  it('counts requests and their latency per route pattern, engine and status class', () => {
    const ping = '{method="GET",route="/v1/ping",engine="health",status_class="2xx"}'
    expect(sample(text, `pkgway_http_requests_total${ping}`)).toBe(3)
    expect(sample(text, `pkgway_http_request_duration_seconds_count${ping}`)).toBe(3)
    expect(
      sample(
        text,
        `pkgway_http_request_duration_seconds_bucket{le="10",method="GET",route="/v1/ping",engine="health",status_class="2xx"}`,
      ),
    ).toBe(3)
    expect(
      sample(text, 'pkgway_http_requests_total{method="GET",route="/v1/products",engine="api",status_class="2xx"}'),
    ).toBe(1)
    expect(
      sample(
        text,
        'pkgway_http_requests_total{method="GET",route="/v1/engines/pypi/simple/",engine="pypi",status_class="2xx"}',
      ),
    ).toBe(2)
    expect(
      sample(text, 'pkgway_http_requests_total{method="PUT",route="/v1/blobs/*",engine="blobs",status_class="2xx"}'),
    ).toBe(1)
  })

  it('counts 429s', () => {
    expect(sample(text, 'pkgway_http_rate_limited_total{route="/v1/tokens",engine="api"}')).toBeGreaterThan(0)
  })

  it('counts cache hits and misses per cache', () => {
    const lookups = text.split('\n').filter((l) => l.startsWith('pkgway_cache_lookups_total{'))
    expect(lookups.length).toBeGreaterThan(0)
    expect(lookups.some((l) => /result="hit"\} [1-9]/.test(l))).toBe(true)
    expect(lookups.some((l) => /result="miss"\} [1-9]/.test(l))).toBe(true)
  })

  it('shows the job queue and the outcomes of jobs', () => {
    expect(sample(text, 'pkgway_jobs{kind="later",status="queued"}')).toBe(1)
    expect(sample(text, 'pkgway_job_outcomes_total{kind="process-upload",outcome="done"}')).toBe(1)
  })

  it('counts upload bytes, revision propagation lag and catalog availability', () => {
    expect(sample(text, 'pkgway_upload_bytes_total')).toBe(12)
    expect(sample(text, 'pkgway_verified_upload_bytes_total')).toBe(12)
    expect(sample(text, 'pkgway_revision_propagation_lag_seconds_count')).toBe(1)
    expect(sample(text, 'pkgway_catalog_up')).toBe(1)
    expect(sample(text, 'pkgway_process_resident_memory_bytes')).toBeGreaterThan(0)
  })
})
