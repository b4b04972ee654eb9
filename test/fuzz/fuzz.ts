import { Pool } from 'undici'
import { artifactKey } from '../../gateway/storage/keys.ts'
import { createTestGateway, type TestGateway } from '../helpers/app.ts'
import {
  generateLicenseKey,
  seedArtifact,
  seedEntitlement,
  seedLicense,
  seedPackage,
  seedPolicy,
  seedProduct,
  seedRelease,
  seedToken,
  seedUser,
} from '../helpers/seed.ts'
import { type FuzzRequest, Generator, type Knowledge, type Pool as IdPool } from './generate.ts'

/**
 * The fuzzer: a whole gateway on loopback (SQLite, filesystem or s3rver, in-process workers), seeded with one of
 * everything, then `count` generated requests over real HTTP with `concurrency` connections. Every answer must be
 * below 500; ids and upload URLs in answers feed later requests, so the fuzzer reaches past the 404s.
 */

export interface FuzzOptions {
  count: number
  seed: number
  concurrency: number
  /** Stop sending after this long, whatever the count. */
  maxMs: number
  storage: 'filesystem' | 's3'
  progress?: (sent: number, report: FuzzReport) => void
}

export interface Failure {
  request: string
  status: number | string
  body: string
}

export interface FuzzReport {
  seed: number
  sent: number
  byStatus: Record<string, number>
  /** Answers ≥ 500. */
  serverErrors: Failure[]
  /** Requests that got no answer (connection closed or reset, timeout). */
  noAnswer: Failure[]
  elapsedMs: number
  healthy: boolean
}

const TYPE_POOLS: Record<string, IdPool> = {
  accounts: 'account',
  products: 'product',
  packages: 'package',
  policies: 'policy',
  releases: 'release',
  artifacts: 'artifact',
  entitlements: 'entitlement',
  licenses: 'license',
  users: 'user',
  tokens: 'token',
}

const LIMIT = 200

function remember(list: string[], value: string): void {
  if (list.includes(value)) return
  list.push(value)
  if (list.length > LIMIT) list.splice(0, list.length - LIMIT)
}

/** seedCatalog creates one of everything the routes name, and returns what the generator starts from. */
async function seedCatalog(gw: TestGateway): Promise<{ know: Knowledge; protectedIds: Set<string> }> {
  const { db } = gw.catalog
  const account = gw.account
  const product = await seedProduct(db, account, { name: 'Fuzz', code: 'fuzz' })
  const pkg = await seedPackage(db, account, { product, key: 'demo-pkg', engine: 'pypi' })
  const entitlement = await seedEntitlement(db, account, { code: 'FEATURE' })
  const policy = await seedPolicy(db, account, { product, authenticationStrategy: 'MIXED' })
  const user = await seedUser(db, account, { password: 'fuzz-password-1' })
  const key = generateLicenseKey()
  const license = await seedLicense(db, account, { policy, key, owner: user })
  const release = await seedRelease(db, account, { product, package: pkg, version: '1.0.0', status: 'PUBLISHED' })
  const filename = 'demo_pkg-1.0.0-py3-none-any.whl'
  const artifact = await seedArtifact(db, account, { release, filename, status: 'UPLOADED' })
  await gw.blobs.write(artifactKey(account.id, release.id, filename), Buffer.from('not really a wheel'))
  const productToken = await seedToken(db, account, { bearerType: 'product', bearer: product })
  const licenseToken = await seedToken(db, account, { bearerType: 'license', bearer: license })
  const userToken = await seedToken(db, account, { bearerType: 'user', bearer: user })
  const admin = await db.selectFrom('tokens').select('id').where('bearer_type', '=', 'admin').execute()
  const know: Knowledge = {
    ids: {
      account: [account.id, account.slug],
      product: [product.id, 'fuzz'],
      package: [pkg.id, 'demo-pkg'],
      policy: [policy.id],
      release: [release.id, '1.0.0', 'latest'],
      artifact: [artifact.id],
      filename: [filename],
      entitlement: [entitlement.id, 'FEATURE'],
      license: [license.id, key],
      user: [user.id],
      token: [productToken.row.id, licenseToken.row.id, userToken.row.id],
      project: ['demo-pkg', 'demo_pkg', 'Demo.Pkg', 'requests'],
    },
    credentials: [
      { kind: 'bearer', value: gw.adminToken },
      { kind: 'bearer', value: productToken.raw },
      { kind: 'bearer', value: licenseToken.raw },
      { kind: 'bearer', value: userToken.raw },
      { kind: 'license', value: key },
    ],
    uploads: [],
    downloads: [],
    keep: new Set([product.id, release.id, artifact.id, license.id, key, policy.id, user.id, pkg.id]),
  }
  // The fuzzer may delete anything but the admin tokens it needs to keep reaching past 401.
  return { know, protectedIds: new Set(admin.map((t) => t.id)) }
}

/** learn adds ids, credentials and upload URLs from an answer to what later requests may use. */
function learn(know: Knowledge, protectedIds: Set<string>, headers: Record<string, unknown>, body: Buffer): void {
  const location = headers.location
  if (typeof location === 'string' && location.includes('/v1/blobs/uploads/')) remember(know.uploads, location)
  else if (typeof location === 'string' && location.includes('/v1/blobs/')) remember(know.downloads, location)
  if (!String(headers['content-type'] ?? '').includes('json') || body.length > 256 * 1024) return
  let doc: { data?: unknown }
  try {
    doc = JSON.parse(body.toString())
  } catch {
    return
  }
  for (const item of Array.isArray(doc?.data) ? doc.data : [doc?.data]) {
    const r = item as { id?: unknown; type?: unknown; attributes?: Record<string, unknown> } | null
    const pool = typeof r?.type === 'string' ? TYPE_POOLS[r.type] : undefined
    if (!pool || typeof r?.id !== 'string' || protectedIds.has(r.id)) continue
    remember(know.ids[pool], r.id)
    const attrs = r.attributes ?? {}
    if (pool === 'artifact' && typeof attrs.filename === 'string') remember(know.ids.filename, attrs.filename)
    if (pool === 'token' && typeof attrs.token === 'string' && know.credentials.length < 30) {
      know.credentials.push({ kind: 'bearer', value: attrs.token })
    }
  }
}

const describe = (r: FuzzRequest) =>
  `${r.method} ${r.path.slice(0, 300)} ${JSON.stringify(r.headers).slice(0, 300)} ${String(r.body ?? '').slice(0, 300)}`

/** runFuzz runs the whole campaign and reports; it throws only when the gateway cannot be set up. */
export async function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const gw = await createTestGateway({
    listen: true,
    storage: opts.storage,
    config: {
      // Guessing is throttled per address; the fuzzer is one address that fails on purpose.
      authThrottle: { maxFailures: 1_000_000, windowSeconds: 60 },
      storage: { maxUploadSize: 1024 * 1024, uploadIdleTimeoutMs: 5000 },
      workers: { inProcess: true, pollIntervalMs: 200 },
    },
  })
  const report: FuzzReport = {
    seed: opts.seed,
    sent: 0,
    byStatus: {},
    serverErrors: [],
    noAnswer: [],
    elapsedMs: 0,
    healthy: false,
  }
  const pool = new Pool(gw.url, { connections: opts.concurrency, headersTimeout: 30_000, bodyTimeout: 30_000 })
  try {
    const { know, protectedIds } = await seedCatalog(gw)
    const gen = new Generator(opts.seed, know)
    const started = Date.now()
    const deadline = started + opts.maxMs
    const one = async (r: FuzzRequest) => {
      try {
        const res = await pool.request({ method: r.method, path: r.path, headers: r.headers, body: r.body })
        const body = Buffer.from(await res.body.arrayBuffer())
        report.byStatus[res.statusCode] = (report.byStatus[res.statusCode] ?? 0) + 1
        if (res.statusCode >= 500) {
          report.serverErrors.push({
            request: describe(r),
            status: res.statusCode,
            body: body.toString().slice(0, 500),
          })
        }
        learn(know, protectedIds, res.headers, body)
      } catch (err) {
        const e = err as { code?: string; message?: string }
        report.byStatus[e.code ?? 'error'] = (report.byStatus[e.code ?? 'error'] ?? 0) + 1
        report.noAnswer.push({ request: describe(r), status: e.code ?? 'error', body: e.message ?? '' })
      }
    }
    const worker = async () => {
      while (report.sent < opts.count && Date.now() < deadline) {
        report.sent++
        if (report.sent % 10_000 === 0) opts.progress?.(report.sent, report)
        await one(gen.next())
      }
    }
    await Promise.all(Array.from({ length: opts.concurrency }, worker))
    report.elapsedMs = Date.now() - started
    report.healthy = await healthy(pool, gw.adminToken)
    return report
  } finally {
    await pool.close()
    await gw.close()
  }
}

/** healthy checks the gateway still answers its health check and an authenticated catalog read. */
async function healthy(pool: Pool, adminToken: string): Promise<boolean> {
  const health = await pool.request({ method: 'GET', path: '/healthz' })
  await health.body.dump()
  const me = await pool.request({ method: 'GET', path: '/v1/me', headers: { authorization: `Bearer ${adminToken}` } })
  await me.body.dump()
  return health.statusCode === 200 && me.statusCode === 200
}
