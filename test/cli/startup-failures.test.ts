import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, type ExpectStatic, it } from 'vitest'
import { cleanEnv, type Exit, runPkgway, stderrLines } from './pkgway-process.ts'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pkgway-cli-fail-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

let runs = 0
/** serve runs `pkgway serve` in a fresh working directory, on a free port of 127.0.0.1. */
async function serve(env: NodeJS.ProcessEnv, args: string[] = []): Promise<Exit> {
  const cwd = await mkdtemp(join(dir, `run-${++runs}-`))
  return runPkgway([...args, 'serve'], { cwd, env: cleanEnv(cwd, { PKGWAY_HOST: '127.0.0.1', PORT: '0', ...env }) })
}

/** expectOneLineFailure asserts a non-zero exit with exactly one `pkgway: …` line on stderr and no stack trace. */
function expectOneLineFailure(expect: ExpectStatic, exit: Exit, pattern: RegExp): string {
  expect(exit.stderr).not.toContain('[killed: timed out]')
  expect(exit.code, exit.stderr).not.toBe(0)
  expect(exit.code).not.toBeNull()
  const lines = stderrLines(exit)
  expect(lines, exit.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(/^pkgway: /)
  expect(lines[0]).toMatch(pattern)
  expect(exit.stderr).not.toMatch(/^\s+at /m)
  expect(exit.stdout).not.toMatch(/listening on/)
  return lines[0]
}

// Each case is its own process, so they run side by side; assertions use the test's own `expect`.
// Start-up of a tsx process is slow on a busy machine, so each case gets a minute.
describe.concurrent('pkgway serve start-up failures', { timeout: 60_000 }, () => {
  it('reports every bad setting in one line: PORT=abc and PKGWAY_STORAGE=nope', async ({ expect }) => {
    const line = expectOneLineFailure(
      expect,
      await serve({ PORT: 'abc', PKGWAY_STORAGE: 'nope' }),
      /^pkgway: invalid configuration: /,
    )
    expect(line).toContain('PORT (port): must be a whole number (got "abc")')
    expect(line).toContain('PKGWAY_STORAGE (storage.kind): ')
  })

  it('reports a --config file that is not JSON', async ({ expect }) => {
    const file = join(dir, 'broken-flag.json')
    await writeFile(file, '{"port": ')
    expectOneLineFailure(
      expect,
      await serve({}, ['--config', file]),
      /^pkgway: invalid configuration: config file .* not valid JSON/,
    )
  })

  it('reports a PKGWAY_CONFIG file that is not JSON', async ({ expect }) => {
    const file = join(dir, 'broken-env.json')
    await writeFile(file, '{"port": ')
    expectOneLineFailure(
      expect,
      await serve({ PKGWAY_CONFIG: file }),
      /^pkgway: invalid configuration: config file .* not valid JSON/,
    )
  })

  it('reports a data directory that is a file', async ({ expect }) => {
    const file = join(dir, 'data-is-a-file')
    await writeFile(file, 'x')
    expectOneLineFailure(
      expect,
      await serve({ PKGWAY_DATA_DIR: file }),
      /^pkgway: cannot create the directory of .*\/data-is-a-file\/pkgway\.db: EEXIST$/,
    )
  })

  it('reports a storage root that cannot be written', async ({ expect }) => {
    const file = join(dir, 'root-is-a-file')
    await writeFile(file, 'x')
    expectOneLineFailure(
      expect,
      await serve({ PKGWAY_STORAGE_ROOT: join(file, 'blobs') }),
      /^pkgway: filesystem: storage root .* is not writable \(ENOTDIR\)$/,
    )
  })

  it('reports a SQLite path that cannot be created', async ({ expect }) => {
    const file = join(dir, 'db-parent-is-a-file')
    await writeFile(file, 'x')
    expectOneLineFailure(
      expect,
      await serve({ PKGWAY_DATABASE_URL: `sqlite:${join(file, 'sub', 'pkgway.db')}` }),
      /^pkgway: cannot create the directory of /,
    )
  })

  it('reports an unreachable PostgreSQL server', async ({ expect }) => {
    expectOneLineFailure(
      expect,
      await serve({ PKGWAY_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test' }),
      /^pkgway: cannot connect to postgres:\/\/postgres@127\.0\.0\.1:1\/test: .*ECONNREFUSED/,
    )
  })

  const s3Env = (endpoint: string) => ({
    PKGWAY_STORAGE: 's3',
    PKGWAY_S3_BUCKET: 'artifacts',
    PKGWAY_S3_ENDPOINT: endpoint,
    PKGWAY_S3_FORCE_PATH_STYLE: 'true',
    PKGWAY_S3_ACCESS_KEY_ID: 'S3RVER',
    PKGWAY_S3_SECRET_ACCESS_KEY: 'S3RVER',
  })

  it('reports an unreachable S3 endpoint', async ({ expect }) => {
    expectOneLineFailure(
      expect,
      await serve(s3Env('http://127.0.0.2:1')),
      /^pkgway: s3: bucket artifacts at http:\/\/127\.0\.0\.2:1 is not reachable \(.*ECONNREFUSED/,
    )
  })

  it('gives up on an S3 endpoint that accepts connections but never answers', async ({ expect }) => {
    const silent = net.createServer(() => {})
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.2', resolve))
    const { port } = silent.address() as net.AddressInfo
    try {
      expectOneLineFailure(
        expect,
        await serve(s3Env(`http://127.0.0.2:${port}`)),
        /^pkgway: s3: bucket artifacts at .* is not reachable \(no answer within 10 s\)$/,
      )
    } finally {
      silent.close()
    }
  })

  it('reports a port that is already in use', async ({ expect }) => {
    const taken = net.createServer(() => {})
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const { port } = taken.address() as net.AddressInfo
    try {
      expectOneLineFailure(expect, await serve({ PORT: String(port) }), /EADDRINUSE/)
    } finally {
      taken.close()
    }
  })
})
