import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PackageRow, ProductRow } from '../../gateway/catalog/types.ts'
import { createTestGateway, type TestGateway } from '../helpers/app.ts'
import { buildNpmTarball, tools } from '../helpers/fixtures.ts'
import { type LoggedRequest, publishFile, requestLog, runClient } from '../helpers/publish.ts'
import { seedLicense, seedPackage, seedPolicy, seedProduct, seedToken } from '../helpers/seed.ts'

/**
 * Real npm (the one that comes with Node) against a listening gateway, with filesystem storage (signed URLs on the
 * gateway itself) and with s3rver on 127.0.0.2 (presigned URLs on another host, so npm drops Authorization on the
 * redirect). Packages are built with `npm pack` and verified by the real upload worker.
 */

const KEY = 'NPM-E2E-LICENSE-KEY'
const SLOW = { timeout: 300_000 }

describe.skipIf(!tools.npm).each(['filesystem', 's3'] as const)('npm against pkgway (%s storage)', SLOW, (storage) => {
  let gw: TestGateway
  let log: LoggedRequest[]
  let work: string
  let licenseToken: string
  let product: ProductRow
  let hello: PackageRow
  let registry: string
  let hello100: Buffer

  /** npm runs in a project folder with its own cache, HOME and user/global config, never the machine's. */
  async function npm(project: string, args: string[]) {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: join(work, 'home'),
      npm_config_cache: join(work, 'npm-cache'),
      npm_config_userconfig: join(work, 'user.npmrc'),
      npm_config_globalconfig: join(work, 'global.npmrc'),
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
    }
    return runClient('npm', args, { cwd: project, env })
  }

  /** project makes a consumer project whose .npmrc names the gateway as registry (and the given auth lines). */
  async function project(name: string, auth: string[]) {
    const dir = join(work, name)
    await mkdir(dir)
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }))
    await writeFile(join(dir, '.npmrc'), `${[`registry=${registry}`, ...auth].join('\n')}\n`)
    return dir
  }

  const installed = async (dir: string, pkg: string) =>
    JSON.parse(await readFile(join(dir, 'node_modules', pkg, 'package.json'), 'utf8')).version as string

  const nerf = () => registry.replace(/^http:/, '')

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'pkgway-npm-e2e-'))
    await mkdir(join(work, 'home'))
    await writeFile(join(work, 'user.npmrc'), '')
    await writeFile(join(work, 'global.npmrc'), '')
    gw = await createTestGateway({ listen: true, storage })
    log = requestLog(gw)
    registry = `${gw.url}/v1/engines/npm/`
    const db = gw.catalog.db
    product = await seedProduct(db, gw.account, { strategy: 'LICENSED', code: 'demo' })
    const policy = await seedPolicy(db, gw.account, { product, authenticationStrategy: 'MIXED' })
    const license = await seedLicense(db, gw.account, { policy, key: KEY })
    licenseToken = (await seedToken(db, gw.account, { bearerType: 'license', bearer: license })).raw
    hello = await seedPackage(db, gw.account, { product, key: 'hello', engine: 'npm' })
    const scoped = await seedPackage(db, gw.account, { product, key: '@demo/hello', engine: 'npm' })
    const [h100, s100] = await Promise.all([buildNpmTarball('hello', '1.0.0'), buildNpmTarball('@demo/hello', '1.0.0')])
    hello100 = h100
    await publishFile(gw, { product, package: hello, version: '1.0.0', filename: 'hello-1.0.0.tgz', bytes: h100 })
    await publishFile(gw, { product, package: scoped, version: '1.0.0', filename: 'demo-hello-1.0.0.tgz', bytes: s100 })
  }, 120_000)

  afterAll(async () => {
    await gw?.close()
    if (work) await rm(work, { recursive: true, force: true })
  })

  it('installs unscoped and scoped private packages with _authToken (a license token), then npm ci from the lockfile', async () => {
    const dir = await project('token-app', [`${nerf()}:_authToken=${licenseToken}`])
    const install = await npm(dir, ['install', 'hello', '@demo/hello'])
    expect(install.code, install.stderr).toBe(0)
    expect(await installed(dir, 'hello')).toBe('1.0.0')
    expect(await installed(dir, '@demo/hello')).toBe('1.0.0')
    expect(await readFile(join(dir, 'node_modules', 'hello', 'index.js'), 'utf8')).toContain('hello from hello 1.0.0')
    const lock = JSON.parse(await readFile(join(dir, 'package-lock.json'), 'utf8'))
    const locked = lock.packages['node_modules/hello']
    expect(locked.resolved).toMatch(
      new RegExp(`^${gw.url}/v1/accounts/${gw.account.id}/artifacts/[0-9a-f-]{36}/hello-1\\.0\\.0\\.tgz$`),
    )
    expect(locked.integrity).toBe(`sha512-${createHash('sha512').update(hello100).digest('base64')}`)
    // npm view reads the same packument: shasum is the SHA-1 the upload worker measured.
    const view = await npm(dir, ['view', 'hello@1.0.0', 'dist.shasum'])
    expect(view.code, view.stderr).toBe(0)
    expect(view.stdout.trim()).toBe(createHash('sha1').update(hello100).digest('hex'))
    expect(lock.packages['node_modules/@demo/hello'].resolved).toMatch(/\/demo-hello-1\.0\.0\.tgz$/)
    // The scoped name arrived with its slash encoded; npm's audit got a 410 and the install carried on.
    expect(log.some((r) => r.url === '/v1/engines/npm/@demo%2fhello' && r.status === 200)).toBe(true)
    expect(log.some((r) => r.url.startsWith('/v1/engines/npm/-/npm/v1/security/') && r.status === 410)).toBe(true)

    await rm(join(dir, 'node_modules'), { recursive: true })
    await rm(join(work, 'npm-cache'), { recursive: true, force: true })
    const before = log.length
    const ci = await npm(dir, ['ci'])
    expect(ci.code, ci.stderr).toBe(0)
    expect(await installed(dir, 'hello')).toBe('1.0.0')
    // npm ci fetched the locked tarball URLs (303 to storage), no packument.
    const fetched = log.slice(before).filter((r) => r.url.startsWith(`/v1/accounts/${gw.account.id}/artifacts/`))
    expect(fetched.map((r) => [r.status, r.authorization])).toEqual([
      [303, true],
      [303, true],
    ])
    // On the filesystem store the signed URLs are the gateway's own: npm kept its Authorization, which they ignore.
    const blobs = log.slice(before).filter((r) => r.url.startsWith('/v1/blobs/'))
    expect(blobs.map((r) => r.status)).toEqual(storage === 'filesystem' ? [200, 200] : [])
    expect(log.slice(before).some((r) => /^\/v1\/engines\/npm\/(hello|@demo)/.test(r.url))).toBe(false)
  })

  it('picks up a version published later with pkg@latest, installs a dist-tag with pkg@beta and lists the tags', async () => {
    const dir = await project('latest-app', [`${nerf()}:_authToken=${licenseToken}`])
    expect((await npm(dir, ['install', 'hello'])).code).toBe(0)
    expect(await installed(dir, 'hello')).toBe('1.0.0')
    const h110 = await buildNpmTarball('hello', '1.1.0')
    await publishFile(gw, { product, package: hello, version: '1.1.0', filename: 'hello-1.1.0.tgz', bytes: h110 })
    const latest = await npm(dir, ['install', 'hello@latest'])
    expect(latest.code, latest.stderr).toBe(0)
    expect(await installed(dir, 'hello')).toBe('1.1.0')
    const beta = await buildNpmTarball('hello', '2.0.0-beta.1')
    await publishFile(gw, {
      product,
      package: hello,
      version: '2.0.0-beta.1',
      filename: 'hello-2.0.0-beta.1.tgz',
      bytes: beta,
      tag: 'beta',
    })
    const tagged = await npm(dir, ['install', 'hello@beta'])
    expect(tagged.code, tagged.stderr).toBe(0)
    expect(await installed(dir, 'hello')).toBe('2.0.0-beta.1')
    const tags = await npm(dir, ['dist-tag', 'ls', 'hello'])
    expect(tags.code, tags.stderr).toBe(0)
    expect(tags.stdout).toBe('beta: 2.0.0-beta.1\nlatest: 1.1.0\n')
  })

  it('installs with _auth (Basic license:KEY)', async () => {
    const auth = Buffer.from(`license:${KEY}`).toString('base64')
    const dir = await project('basic-app', [`${nerf()}:_auth=${auth}`])
    const install = await npm(dir, ['install', '@demo/hello'])
    expect(install.code, install.stderr).toBe(0)
    expect(await installed(dir, '@demo/hello')).toBe('1.0.0')
  })

  it('fails with an authentication error without credentials, installing nothing', async () => {
    const dir = await project('anonymous-app', [])
    const install = await npm(dir, ['install', 'hello', '@demo/hello'])
    expect(install.code).not.toBe(0)
    expect(install.stderr).toMatch(/E401/)
    expect(existsSync(join(dir, 'node_modules'))).toBe(false)
    expect(existsSync(join(dir, 'package-lock.json'))).toBe(false)
  })
})
