import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findTokenByRaw } from '../../gateway/auth/tokens.ts'
import { findAccount } from '../../gateway/catalog/accounts.ts'
import { openCatalog } from '../../gateway/catalog/db.ts'
import { cleanEnv, type Exit, runPkgway, startPkgway, stderrLines } from './pkgway-process.ts'

let cwd: string
const printed: string[] = []
beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'pkgway-cli-admin-'))
})
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true })
})

const pkgway = (...args: string[]) => runPkgway(args, { cwd, env: cleanEnv(cwd) })

function expectOneLineError(exit: Exit, pattern: RegExp) {
  expect(exit.code).toBe(1)
  expect(stderrLines(exit)).toHaveLength(1)
  expect(stderrLines(exit)[0]).toMatch(pattern)
}

async function tokenKind(slug: string, raw: string): Promise<string | undefined> {
  const catalog = await openCatalog(`sqlite:${join(cwd, 'data', 'pkgway.db')}`)
  try {
    const account = await findAccount(catalog.db, slug)
    return account ? (await findTokenByRaw(catalog.db, account, raw))?.kind : undefined
  } finally {
    await catalog.close()
  }
}

describe('pkgway account create', { timeout: 60_000 }, () => {
  it('prints {"account":{"id","slug"},"token":"admin-…v3"} with --json, and the token is stored', async () => {
    const exit = await pkgway('account', 'create', 'acme', '--json')
    expect(exit.code, exit.stderr).toBe(0)
    expect(exit.stderr).toBe('')
    const lines = exit.stdout.trim().split('\n')
    expect(lines).toHaveLength(1)
    const out = JSON.parse(lines[0])
    expect(Object.keys(out)).toEqual(['account', 'token'])
    expect(Object.keys(out.account)).toEqual(['id', 'slug'])
    expect(out.account.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    expect(out.account.slug).toBe('acme')
    expect(out.token).toMatch(/^admin-[0-9a-f]{64}v3$/)
    expect(await tokenKind('acme', out.token)).toBe('admin-token')
    printed.push(out.token)
  })

  it('refuses an account that already exists, in one line', async () => {
    expectOneLineError(await pkgway('account', 'create', 'acme'), /^pkgway: account acme already exists$/)
  })

  it('refuses an invalid slug, in one line', async () => {
    expectOneLineError(await pkgway('account', 'create', 'Not A Slug'), /^pkgway: invalid slug "Not A Slug"/)
  })
})

describe('pkgway token create', { timeout: 60_000 }, () => {
  it('prints a new admin token for --account acme --kind admin', async () => {
    const exit = await pkgway('token', 'create', '--account', 'acme', '--kind', 'admin')
    expect(exit.code, exit.stderr).toBe(0)
    expect(exit.stdout).toMatch(/^admin-[0-9a-f]{64}v3\n$/)
    expect(await tokenKind('acme', exit.stdout.trim())).toBe('admin-token')
    printed.push(exit.stdout.trim())
  })

  it('prints {"token":{"id","kind"},"value"} with --json', async () => {
    const exit = await pkgway('token', 'create', '--account', 'acme', '--json')
    expect(exit.code, exit.stderr).toBe(0)
    const out = JSON.parse(exit.stdout)
    expect(out.token.kind).toBe('admin-token')
    expect(out.value).toMatch(/^admin-[0-9a-f]{64}v3$/)
  })

  it('refuses an unknown account and a product token without --product, in one line', async () => {
    expectOneLineError(await pkgway('token', 'create', '--account', 'nobody'), /^pkgway: account nobody not found$/)
    expectOneLineError(
      await pkgway('token', 'create', '--account', 'acme', '--kind', 'product'),
      /^pkgway: --product is required for a product token$/,
    )
  })
})

describe('tokens printed by the CLI', { timeout: 60_000 }, () => {
  it('are accepted by the management API of a running gateway', async () => {
    expect(printed).toHaveLength(2)
    const proc = startPkgway(['serve'], { cwd, env: cleanEnv(cwd, { PKGWAY_HOST: '127.0.0.1', PORT: '0' }) })
    try {
      const url = await proc.listening()
      for (const token of printed) {
        const res = await fetch(`${url}/v1/accounts/acme/products`, { headers: { authorization: `Bearer ${token}` } })
        expect(res.status).toBe(200)
      }
    } finally {
      expect((await proc.stop()).code).toBe(0)
    }
  })
})
