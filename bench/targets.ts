/**
 * The two targets of a bench phase, each a child process pinned to CPU 0: the pkgway gateway (`node bin/pkgway.js
 * serve`, configured through its environment on a temporary data directory, filesystem store and a fresh SQLite
 * file or PostgreSQL schema) and the bare Fastify reference (bench/reference.ts). Both stop through procs.ts.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { cleanup, freePort, spawnPinned, waitReady } from './procs.ts'
import type { ReferenceRoute } from './reference.ts'
import { type Seeded, seedBench } from './seed.ts'

export type CatalogKind = 'sqlite' | 'postgres'
export const CATALOG_LABEL: Record<CatalogKind, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' }

/** The PostgreSQL server of this machine and of CI (trust authentication, database `test`). */
export const POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
/** The CPU both targets are pinned to; wrk runs on LOAD_CPU. */
export const SERVER_CPU = 0
export const LOAD_CPU = 1

export interface Gateway {
  url: string
  /** Of the running gateway process, for its CPU time. */
  pid: number
  adminToken: string
  seeded: Seeded
  dir: string
  log: string
  /** restart stops the gateway process and starts a new one on the same catalog, port and data directory. */
  restart(): Promise<void>
}

/** dropSchema removes a PostgreSQL schema and everything in it. */
async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL })
  await client.connect()
  try {
    await client.query(`drop schema if exists ${schema} cascade`)
  } finally {
    await client.end()
  }
}

/** checkPostgres fails early, with a hint, when the PostgreSQL server is not reachable. */
export async function checkPostgres(): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query('select 1')
  } catch (err) {
    throw new Error(`PostgreSQL at ${POSTGRES_URL} is not reachable (${(err as Error).message}); use --catalog sqlite`)
  } finally {
    await client.end().catch(() => {})
  }
}

/**
 * startGateway seeds a fresh catalog (bench/seed.ts) and starts the gateway on it, listening on a free loopback
 * port with PKGWAY_PUBLIC_URL naming that port, in-process workers off and warn-level logs.
 */
export async function startGateway(kind: CatalogKind, drafts: Record<string, number>, pageSizes: number[]) {
  const dir = await mkdtemp(join(tmpdir(), 'pkgway-bench-'))
  cleanup(`temporary directory ${dir}`, () => rm(dir, { recursive: true, force: true }))
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const adminToken = `admin-${randomBytes(16).toString('hex')}v3`
  let databaseUrl = `sqlite:${join(dir, 'catalog.db')}`
  if (kind === 'postgres') {
    const schema = `bench_${randomBytes(6).toString('hex')}`
    databaseUrl = `${POSTGRES_URL}?schema=${schema}`
    cleanup(`PostgreSQL schema ${schema}`, () => dropSchema(schema))
  }
  const inherited = Object.entries(process.env).filter(([name]) => !name.startsWith('PKGWAY_') && name !== 'PORT')
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(inherited),
    PKGWAY_HOST: '127.0.0.1',
    PKGWAY_PORT: String(port),
    PKGWAY_PUBLIC_URL: url,
    PKGWAY_DATA_DIR: dir,
    PKGWAY_DATABASE_URL: databaseUrl,
    PKGWAY_STORAGE: 'filesystem',
    PKGWAY_STORAGE_ROOT: join(dir, 'blobs'),
    PKGWAY_SIGNING_SECRET: randomBytes(32).toString('hex'),
    PKGWAY_BOOTSTRAP_ADMIN_TOKEN: adminToken,
    PKGWAY_LOG_LEVEL: 'warn',
    PKGWAY_WORKERS_IN_PROCESS: 'false',
    PKGWAY_PYPI_PASSTHROUGH: 'off',
  }
  const seeded = await seedBench({ env, dir, pageSizes, drafts })
  const log = join(dir, 'gateway.log')
  const start = async () => {
    const bin = join(ROOT, 'bin/pkgway.js')
    const what = `gateway (${kind})`
    const { child, stop } = spawnPinned(SERVER_CPU, process.execPath, [bin, 'serve'], { env, cwd: ROOT, log, what })
    await waitReady(`${url}/v1/ping`, child, `the gateway (log: ${log})`)
    return { pid: child.pid!, stop }
  }
  let running = await start()
  const gateway: Gateway = {
    url,
    pid: running.pid,
    adminToken,
    seeded,
    dir,
    log,
    async restart() {
      await running.stop()
      running = await start()
      gateway.pid = running.pid
    },
  }
  return gateway
}

/** startReference writes the recorded answers to a file and starts bench/reference.ts serving them. */
export async function startReference(dir: string, routes: ReferenceRoute[]) {
  const file = join(dir, 'reference-routes.json')
  await writeFile(file, JSON.stringify(routes))
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const log = join(dir, 'reference.log')
  const args = ['--import', 'tsx', join(ROOT, 'bench/reference.ts'), file, String(port)]
  const { child, stop } = spawnPinned(SERVER_CPU, process.execPath, args, { log, cwd: ROOT, what: 'reference' })
  await waitReady(`${url}/__bench/ready`, child, `the reference (log: ${log})`)
  return { url, pid: child.pid!, stop }
}
