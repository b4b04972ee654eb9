import { execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

const run = promisify(execFile)
const repo = fileURLToPath(new URL('../..', import.meta.url))

/**
 * A production install as an operator does it: a fresh clone of the committed sources (HEAD of this checkout),
 * `npm ci --omit=dev` (no devDependencies: no TypeScript compiler, no tsx, no vitest; its prepare step compiles
 * the sources into dist/ with esbuild), then `npm start`.
 */
describe('a production install from a fresh clone', () => {
  let dir: string | undefined

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('starts with npm ci --omit=dev && npm start, and answers /v1/ping', async () => {
    dir = await mkdtemp(join(tmpdir(), 'pkgway-prod-'))
    const clone = join(dir, 'pkgway')
    const { stdout: head } = await run('git', ['rev-parse', 'HEAD'], { cwd: repo })
    await run('git', ['clone', '--quiet', '--no-checkout', repo, clone])
    await run('git', ['checkout', '--quiet', head.trim()], { cwd: clone })

    await run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], {
      cwd: clone,
      timeout: 480_000,
      maxBuffer: 16 * 1024 * 1024,
    })
    const pkg = JSON.parse(await readFile(join(clone, 'package.json'), 'utf8')) as { devDependencies: object }
    for (const dev of Object.keys(pkg.devDependencies))
      expect(existsSync(join(clone, 'node_modules', dev)), dev).toBe(false)
    // The prepare step compiled the sources: without tsx, bin/pkgway.js can only run this bundle.
    expect(existsSync(join(clone, 'dist', 'main.js'))).toBe(true)

    const child = spawn('npm', ['start'], {
      cwd: clone,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        PKGWAY_HOST: '127.0.0.1',
        PORT: '0',
        PKGWAY_DATA_DIR: join(dir, 'data'),
        PKGWAY_LOG_LEVEL: 'warn',
      },
    })
    let output = ''
    child.stdout!.on('data', (d) => {
      output += String(d)
    })
    child.stderr!.on('data', (d) => {
      output += String(d)
    })
    try {
      const deadline = Date.now() + 60_000
      let url: string | undefined
      while (!url && Date.now() < deadline && child.exitCode === null) {
        url = /^pkgway: listening on (\S+)$/m.exec(output)?.[1]
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      expect(url, output).toBeDefined()
      const ping = await fetch(`${url}/v1/ping`)
      expect(ping.status).toBe(200)
      expect(await ping.json()).toEqual({ status: 'ok' })
      expect((await fetch(`${url}/readyz`)).status).toBe(200)
    } finally {
      // npm runs the gateway in a child shell: stop the whole process group.
      process.kill(-child.pid!, 'SIGTERM')
      await new Promise((resolve) => child.on('close', resolve))
    }
  }, 600_000)
})
