import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bootstrap } from '../../gateway/catalog/bootstrap.ts'
import { openCatalog } from '../../gateway/catalog/db.ts'
import { cleanEnv, type PkgwayProcess, startPkgway } from '../cli/pkgway-process.ts'
import { type PrivatePostgres, startPrivatePostgres } from '../helpers/private-postgres.ts'
import { seedArtifact, seedPackage, seedProduct, seedRelease } from '../helpers/seed.ts'

const ADMIN = `admin-${'e'.repeat(40)}v3`
const PASSWORD = 'pw-e2e-never-logged'
const OUTAGE_MS = 10_000
const WHEEL = 'demo_pkg-1.0.0-py3-none-any.whl'

type Phase = 'before' | 'outage' | 'recovering' | 'after'

interface Sample {
  probe: string
  phase: Phase
  status: number
  headers: Headers | null
  body: string
  ms: number
  error?: string
}

/** The requests of one round of light load: each is sent once per round, all of them concurrently. */
const probes: Record<string, (url: string) => [string, RequestInit]> = {
  readyz: (u) => [`${u}/readyz`, {}],
  ping: (u) => [`${u}/v1/ping`, {}],
  // Warm reads: anonymous pages of an OPEN product that were served before the outage.
  warmPypi: (u) => [`${u}/v1/engines/pypi/simple/demo-pkg/`, { headers: { accept: 'text/html' } }],
  warmRaw: (u) => [`${u}/v1/engines/raw/app/2.0.0/app.tar.gz`, { redirect: 'manual' }],
  // Cold reads: credentials never seen before, which only the catalog can judge.
  coldPypi: (u) => [
    `${u}/v1/engines/pypi/simple/demo-pkg/`,
    {
      headers: {
        accept: 'text/html',
        authorization: `Basic ${Buffer.from(`license:UNSEEN-${randomBytes(6).toString('hex')}`).toString('base64')}`,
      },
    },
  ],
  coldRaw: (u) => [
    `${u}/v1/engines/raw/app/2.0.0/app.tar.gz`,
    { redirect: 'manual', headers: { authorization: `Bearer unseen-${randomBytes(6).toString('hex')}` } },
  ],
  write: (u) => [
    `${u}/v1/products`,
    {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/vnd.api+json' },
      body: JSON.stringify({ data: { type: 'products', attributes: { name: `p-${randomBytes(4).toString('hex')}` } } }),
    },
  ],
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * The gateway (`pkgway serve`, PostgreSQL catalog, filesystem store, in-process workers) under light load while
 * its private PostgreSQL server stops for 10 s and comes back. Every request is recorded with the phase it was
 * sent in; the tests below judge the recording.
 */
describe('pkgway serve while its PostgreSQL catalog stops for 10 s', () => {
  let pg: PrivatePostgres
  let gateway: PkgwayProcess
  let dir: string
  const samples: Sample[] = []
  let phase: Phase = 'before'
  let recoveredAfterMs = Number.POSITIVE_INFINITY
  let warm: { pypi: string; raw: string | null }

  async function send(url: string, name: string): Promise<Sample> {
    const [target, init] = probes[name](url)
    const sentIn = phase
    const t0 = Date.now()
    try {
      const res = await fetch(target, { ...init, signal: AbortSignal.timeout(15_000) })
      const body = await res.text()
      const sample = { probe: name, phase: sentIn, status: res.status, headers: res.headers, body, ms: Date.now() - t0 }
      samples.push(sample)
      return sample
    } catch (err) {
      const sample = {
        probe: name,
        phase: sentIn,
        status: 0,
        headers: null,
        body: '',
        ms: Date.now() - t0,
        error: String(err),
      }
      samples.push(sample)
      return sample
    }
  }

  beforeAll(async () => {
    pg = await startPrivatePostgres()
    dir = await mkdtemp(join(tmpdir(), 'pkgway-outage-e2e-'))
    const seeding = await openCatalog(pg.url)
    await seeding.migrate()
    const { account } = await bootstrap(seeding, ADMIN)
    const product = await seedProduct(seeding.db, account, { strategy: 'OPEN', code: 'app' })
    const pkg = await seedPackage(seeding.db, account, { product, key: 'demo-pkg', engine: 'pypi' })
    const wheelRelease = await seedRelease(seeding.db, account, {
      product,
      package: pkg,
      version: '1.0.0',
      status: 'PUBLISHED',
    })
    await seedArtifact(seeding.db, account, {
      release: wheelRelease,
      filename: WHEEL,
      sha256: 'a'.repeat(64),
      filesize: 10,
    })
    const rawRelease = await seedRelease(seeding.db, account, { product, version: '2.0.0', status: 'PUBLISHED' })
    await seedArtifact(seeding.db, account, { release: rawRelease, filename: 'app.tar.gz', filesize: 10 })
    await seeding.close()

    const databaseUrl = pg.url.replace('postgres@', `postgres:${PASSWORD}@`)
    gateway = startPkgway(['serve'], {
      cwd: dir,
      env: cleanEnv(dir, {
        PKGWAY_HOST: '127.0.0.1',
        PORT: '0',
        PKGWAY_DATABASE_URL: databaseUrl,
        PKGWAY_BOOTSTRAP_ADMIN_TOKEN: ADMIN,
        PKGWAY_LOG_LEVEL: 'info',
        // The cold probes fail authentication on purpose, four times a second from one address: this test is about
        // the outage, not the guessing throttle, which would otherwise refuse the admin's writes from that address.
        PKGWAY_AUTH_MAX_FAILURES: '100000',
      }),
    })
    const url = await gateway.listening()

    const pypi = await send(url, 'warmPypi')
    const raw = await send(url, 'warmRaw')
    expect(pypi.status, pypi.body).toBe(200)
    expect(raw.status, raw.body).toBe(303)
    warm = { pypi: pypi.body, raw: raw.headers!.get('location') }

    let loading = true
    // The last write before the outage commits just before the catalog stops, so the gateway knows of a revision
    // it cannot read: the warm pages must still be served from what it read before (stale if error).
    let writesPaused = false
    let round: Promise<unknown> = Promise.resolve()
    const load = (async () => {
      for (let n = 0; loading && n < 400; n++) {
        const names = Object.keys(probes).filter((name) => !(writesPaused && name === 'write'))
        round = Promise.all(names.map((name) => send(url, name)))
        await round
        await sleep(250)
      }
    })()
    await sleep(2_000)
    writesPaused = true
    await round
    const lastWrite = await send(url, 'write')
    expect(lastWrite.status, lastWrite.body).toBe(201)
    await pg.stop()
    phase = 'outage'
    writesPaused = false
    await sleep(OUTAGE_MS)
    phase = 'recovering'
    const restartedAt = Date.now()
    await pg.start()
    for (;;) {
      const ready = await send(url, 'readyz')
      if (ready.status === 200) break
      if (Date.now() - restartedAt > 30_000) break
      await sleep(100)
    }
    recoveredAfterMs = Date.now() - restartedAt
    phase = 'after'
    await sleep(2_000)
    loading = false
    await load
  }, 180_000)

  afterAll(async () => {
    await gateway?.stop('SIGTERM')
    await pg?.destroy()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  const sentDuring = (probe: string) => samples.filter((s) => s.probe === probe && s.phase === 'outage')
  const sentAfter = (probe: string) => samples.filter((s) => s.probe === probe && s.phase === 'after')
  const logLines = () =>
    gateway.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string })

  it('kept the load light and bounded, and sent requests in every phase', () => {
    for (const p of ['before', 'outage', 'after'] as const) {
      expect(samples.filter((s) => s.phase === p && s.probe === 'write').length).toBeGreaterThan(2)
    }
    expect(samples.length).toBeLessThan(400 * Object.keys(probes).length)
  })

  it('never answered 500 and never hung: every request got an answer', () => {
    expect(samples.filter((s) => s.status === 0 || s.status >= 500).filter((s) => s.status !== 503)).toEqual([])
    expect(Math.max(...samples.map((s) => s.ms))).toBeLessThan(15_000)
  })

  it('was not ready during the outage, naming the catalog, and ready again after it, without a restart', () => {
    const outage = sentDuring('readyz')
    expect(outage.length).toBeGreaterThan(5)
    for (const s of outage) {
      expect(s.status).toBe(503)
      expect(s.headers!.get('retry-after')).toBe('5')
      expect(JSON.parse(s.body)).toEqual({
        status: 'unavailable',
        down: ['catalog'],
        checks: { catalog: 'down', storage: 'up' },
      })
    }
    expect(recoveredAfterMs).toBeLessThan(15_000)
    for (const s of sentAfter('readyz')) expect(s.status).toBe(200)
    for (const s of [...sentDuring('ping'), ...sentAfter('ping')]) expect(s.status).toBe(200)
    expect(gateway.child.exitCode).toBeNull()
  })

  it('answered everything that needs the catalog with a 503 in its client’s format', () => {
    const jsonApi = [...sentDuring('coldRaw'), ...sentDuring('write')]
    expect(jsonApi.length).toBeGreaterThan(5)
    for (const s of jsonApi) {
      expect(s.status, `${s.probe}: ${s.body}`).toBe(503)
      expect(s.headers!.get('retry-after')).toBe('5')
      expect(s.headers!.get('content-type')).toBe('application/vnd.api+json; charset=utf-8')
      expect(JSON.parse(s.body).errors).toEqual([
        {
          title: 'Service unavailable',
          detail: 'The catalog is unavailable; try again later',
          code: 'CATALOG_UNAVAILABLE',
        },
      ])
    }
    const pip = sentDuring('coldPypi')
    expect(pip.length).toBeGreaterThan(5)
    for (const s of pip) {
      expect(s.status, s.body).toBe(503)
      expect(s.headers!.get('retry-after')).toBe('5')
      expect(s.headers!.get('content-type')).toBe('text/html; charset=utf-8')
      expect(s.body).toBe('Service Unavailable: The catalog is unavailable; try again later')
    }
  })

  it('serves everything again after the outage', () => {
    for (const s of sentAfter('write')) expect(s.status, s.body).toBe(201)
    for (const s of [...sentAfter('coldPypi'), ...sentAfter('coldRaw')]) expect([401, 403, 404]).toContain(s.status)
    for (const s of sentAfter('warmPypi')) expect(s.status).toBe(200)
    for (const s of sentAfter('warmRaw')) expect(s.status).toBe(303)
  })

  it('logged the outage once when it began and once when it ended, without the password and without errors', () => {
    const health = logLines().filter((l) => /^catalog (unavailable|available again)$/.test(l.msg))
    expect(
      health.map((l) => [l.level, l.msg]),
      JSON.stringify(health),
    ).toEqual([
      [40, 'catalog unavailable'],
      [30, 'catalog available again'],
    ])
    expect(gateway.stdout + gateway.stderr).not.toContain(PASSWORD)
    expect(logLines().filter((l) => l.level >= 50)).toEqual([])
  })

  // Depends on the memory-only read path (principal and read-model caches): warm reads never touch the catalog.
  it('serves warm reads during the outage', () => {
    const pypi = sentDuring('warmPypi')
    const raw = sentDuring('warmRaw')
    expect(pypi.length).toBeGreaterThan(5)
    for (const s of pypi) {
      expect(s.status).toBe(200)
      expect(s.body).toBe(warm.pypi)
    }
    for (const s of raw) {
      expect(s.status).toBe(303)
      expect(s.headers!.get('location')).toBe(warm.raw)
    }
  })
})
