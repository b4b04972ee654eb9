import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findTokenByRaw } from '../../gateway/auth/tokens.ts'
import { findAccount } from '../../gateway/catalog/accounts.ts'
import { DEFAULT_ACCOUNT_SLUG } from '../../gateway/catalog/bootstrap.ts'
import { openCatalog } from '../../gateway/catalog/db.ts'
import { cleanEnv, type PkgwayProcess, startPkgway, stderrLines } from './pkgway-process.ts'

const ADMIN_TOKEN = /^admin-[0-9a-f]{64}v3$/m

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pkgway-cli-serve-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

let runs = 0
async function workdir(): Promise<string> {
  return mkdtemp(join(dir, `run-${++runs}-`))
}

function serve(cwd: string, env: NodeJS.ProcessEnv = {}, args: string[] = []): PkgwayProcess {
  return startPkgway([...args, 'serve'], { cwd, env: cleanEnv(cwd, { PKGWAY_HOST: '127.0.0.1', PORT: '0', ...env }) })
}

/**
 * runOnce starts the gateway, checks it answers (and runs `whileUp` against it), then stops it with SIGTERM;
 * it returns what the process printed.
 */
async function runOnce(
  cwd: string,
  env: NodeJS.ProcessEnv = {},
  args: string[] = [],
  whileUp?: (url: string) => Promise<void>,
) {
  const proc = serve(cwd, env, args)
  const url = await proc.listening()
  const ping = await fetch(`${url}/v1/ping`)
  expect(ping.status).toBe(200)
  await whileUp?.(url)
  const exit = await proc.stop('SIGTERM')
  expect(exit.timedOut).toBe(false)
  expect(exit.code, exit.stderr).toBe(0)
  expect(stderrLines(exit)).toEqual([])
  return { url, ...exit }
}

/** expectAdmin checks that the management API accepts token as an admin, and refuses a made-up one. */
async function expectAdmin(url: string, token: string) {
  const ok = await fetch(`${url}/v1/products`, { headers: { authorization: `Bearer ${token}` } })
  expect(ok.status).toBe(200)
  expect(((await ok.json()) as { data: unknown[] }).data).toEqual([])
  const wrong = await fetch(`${url}/v1/products`, { headers: { authorization: `Bearer admin-${'0'.repeat(64)}v3` } })
  expect(wrong.status).toBe(401)
}

async function adminTokensOfDefaultAccount(cwd: string, raw?: string) {
  const catalog = await openCatalog(`sqlite:${join(cwd, 'data', 'pkgway.db')}`)
  try {
    const account = (await findAccount(catalog.db, DEFAULT_ACCOUNT_SLUG))!
    const tokens = await catalog.db
      .selectFrom('tokens')
      .select(['id', 'kind'])
      .where('account_id', '=', account.id)
      .where('bearer_type', '=', 'admin')
      .execute()
    return { tokens, match: raw ? await findTokenByRaw(catalog.db, account, raw) : undefined }
  } finally {
    await catalog.close()
  }
}

// Each case starts one or two tsx processes, which is slow on a busy machine.
describe('pkgway serve', { timeout: 120_000 }, () => {
  it('prints the admin token once on first start, and not on the next start', async () => {
    const cwd = await workdir()
    const first = await runOnce(cwd)
    const tokens: string[] = first.stdout.match(new RegExp(ADMIN_TOKEN, 'gm')) ?? []
    expect(tokens).toHaveLength(1)
    expect(first.stdout).toContain('admin token (shown once, keep it safe)')

    const second = await runOnce(cwd, {}, [], (url) => expectAdmin(url, tokens[0]))
    expect(second.stdout).not.toMatch(/admin-[0-9a-f]+v3/)
    expect(second.stdout).toMatch(/^pkgway: listening on http:\/\/127\.0\.0\.1:\d+$/m)

    // The printed token is the one the catalog holds, and only one was made.
    const { tokens: stored, match } = await adminTokensOfDefaultAccount(cwd, tokens[0])
    expect(stored).toHaveLength(1)
    expect(match?.kind).toBe('admin-token')
  })

  it('runs embedded by default: SQLite at ./data/pkgway.db, blobs at ./data/blobs, the signing key in the catalog', async () => {
    const cwd = await workdir()
    await runOnce(cwd)
    const files = await readdir(join(cwd, 'data'))
    expect(files).toEqual(expect.arrayContaining(['blobs', 'pkgway.db']))
    expect(files).not.toContain('signing-secret')
    const catalog = await openCatalog(`sqlite:${join(cwd, 'data', 'pkgway.db')}`)
    try {
      const keys = await catalog.db.selectFrom('signing_keys').select(['generation', 'secret']).execute()
      expect(keys).toEqual([{ generation: 1, secret: expect.stringMatching(/^[0-9a-f]{64}$/) }])
    } finally {
      await catalog.close()
    }
    // A second start keeps the key, so signed URLs survive restarts.
    await runOnce(cwd)
    const again = await openCatalog(`sqlite:${join(cwd, 'data', 'pkgway.db')}`)
    try {
      expect(await again.db.selectFrom('signing_keys').select('generation').execute()).toEqual([{ generation: 1 }])
    } finally {
      await again.close()
    }
  })

  it('installs PKGWAY_BOOTSTRAP_ADMIN_TOKEN instead of printing one, idempotently across restarts', async () => {
    const cwd = await workdir()
    const token = `admin-${'ab'.repeat(32)}v3`
    const first = await runOnce(cwd, { PKGWAY_BOOTSTRAP_ADMIN_TOKEN: token }, [], (url) => expectAdmin(url, token))
    expect(first.stdout).not.toMatch(/admin-[0-9a-f]+v3/)
    await runOnce(cwd, { PKGWAY_BOOTSTRAP_ADMIN_TOKEN: token }, [], (url) => expectAdmin(url, token))
    const { tokens, match } = await adminTokensOfDefaultAccount(cwd, token)
    expect(tokens).toHaveLength(1)
    expect(match?.kind).toBe('admin-token')
  })

  it('reads its settings from --config and from PKGWAY_CONFIG', async () => {
    const cwd = await workdir()
    const file = join(cwd, 'pkgway.json')
    await writeFile(file, JSON.stringify({ host: '127.0.0.1', port: 0, dataDir: './state' }))
    const env = { PKGWAY_HOST: '', PORT: '' }
    await runOnce(cwd, env, ['--config', file])
    expect(await readdir(join(cwd, 'state'))).toEqual(expect.arrayContaining(['pkgway.db', 'blobs']))
    await runOnce(cwd, { ...env, PKGWAY_CONFIG: file })
  })

  it('exits 0 promptly on SIGTERM, also with an idle keep-alive connection open', async () => {
    const cwd = await workdir()
    const proc = serve(cwd)
    const url = await proc.listening()
    const agent = new http.Agent({ keepAlive: true })
    await new Promise<void>((resolve, reject) => {
      http
        .get(`${url}/healthz`, { agent }, (res) => {
          res.resume()
          res.on('end', resolve)
        })
        .on('error', reject)
    })
    const exit = await proc.stop('SIGTERM', 10_000)
    agent.destroy()
    expect(exit.timedOut).toBe(false)
    expect(exit.code).toBe(0)
    expect(exit.signal).toBeNull()
  })

  it('exits 0 on SIGINT', async () => {
    const cwd = await workdir()
    const proc = serve(cwd)
    await proc.listening()
    const exit = await proc.stop('SIGINT')
    expect(exit.timedOut).toBe(false)
    expect(exit.code).toBe(0)
  })
})
