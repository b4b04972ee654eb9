import { execFile } from 'node:child_process'
import { chown, mkdtemp, readdir, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * A PostgreSQL server of the test's own: its own data directory, socket directory and port, started and stopped
 * with pg_ctl, so a test can take its catalog away without touching the shared server on 5432. As root (this
 * machine and CI), initdb and pg_ctl run as the `postgres` user through runuser, since PostgreSQL refuses root.
 */
export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication). */
  url: string
  port: number
  start(): Promise<void>
  /** Stops the server (fast mode: sessions are terminated, as in a failover or a restart). */
  stop(): Promise<void>
  /** Stops the server if it runs and removes its files. */
  destroy(): Promise<void>
}

async function binDir(): Promise<string> {
  const versions = (await readdir('/usr/lib/postgresql'))
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
  if (versions.length === 0) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql')
  return join('/usr/lib/postgresql', versions[0], 'bin')
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
    run('id', ['-u', 'postgres']),
    run('id', ['-g', 'postgres']),
  ])
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) }
}

/** startPrivatePostgres initialises a fresh cluster in a temporary directory and starts it. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = await binDir()
  const dir = await mkdtemp(join(tmpdir(), 'pkgway-pg-'))
  const data = join(dir, 'data')
  const asRoot = process.getuid?.() === 0
  const ids = asRoot ? await postgresIds() : null
  if (ids) await chown(dir, ids.uid, ids.gid)
  const exec = (tool: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]) : run(join(bin, tool), args)
  await exec('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync'])
  const port = await freePort()
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off`
  let running = false
  const pg: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async start() {
      await exec('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start'])
      running = true
    },
    async stop() {
      await exec('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop'])
      running = false
    },
    async destroy() {
      if (running) await pg.stop().catch(() => {})
      await rm(dir, { recursive: true, force: true })
    },
  }
  await pg.start()
  return pg
}
