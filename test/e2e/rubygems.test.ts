import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PackageRow, ProductRow } from '../../gateway/catalog/types.ts'
import { createTestGateway, type TestGateway } from '../helpers/app.ts'
import { buildGem, tools } from '../helpers/fixtures.ts'
import { type LoggedRequest, publishFile, requestLog, runClient } from '../helpers/publish.ts'
import { seedLicense, seedPackage, seedPolicy, seedProduct } from '../helpers/seed.ts'

/**
 * Real gem and Bundler (Debian's ruby and ruby-bundler) against a listening gateway, with filesystem storage and
 * with s3rver on 127.0.0.2. Gems are built with `gem build` and verified by the real upload worker; `demo_dep`
 * depends on the private `demo_gem`.
 */

const KEY = 'GEM-E2E-LICENSE-KEY'
const SLOW = { timeout: 300_000 }
const hasBundler = spawnSync('bundle', ['--version'], { stdio: 'ignore' }).status === 0
const NO_CLIENTS = !tools.gem || !hasBundler
if (NO_CLIENTS) console.warn('RubyGems e2e skipped: `gem` and `bundle` (ruby, ruby-bundler) are needed')

describe.skipIf(NO_CLIENTS).each(['filesystem', 's3'] as const)(
  'gem and bundler against pkgway (%s storage)',
  SLOW,
  (storage) => {
    let gw: TestGateway
    let log: LoggedRequest[]
    let work: string
    let product: ProductRow
    let demoGem: PackageRow
    let source: string

    /** ruby runs gem or bundle with HOME, the gem paths and Bundler's folders inside the test's temp dir. */
    function ruby(cmd: 'gem' | 'bundle', args: string[], cwd: string, extra: Record<string, string> = {}) {
      const home = join(work, 'home')
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '',
        HOME: home,
        GEM_HOME: join(home, 'gems'),
        GEM_PATH: join(home, 'gems'),
        GEM_SPEC_CACHE: join(home, 'specs'),
        BUNDLE_USER_HOME: join(home, 'bundle-user'),
        LANG: 'C.UTF-8',
        ...extra,
      }
      return runClient(cmd, args, { cwd, env })
    }

    const withKey = () => source.replace('://', `://license:${KEY}@`)

    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), 'pkgway-gem-e2e-'))
      await mkdir(join(work, 'home'))
      gw = await createTestGateway({ listen: true, storage })
      log = requestLog(gw)
      source = `${gw.url}/v1/engines/rubygems/`
      const db = gw.catalog.db
      product = await seedProduct(db, gw.account, { strategy: 'LICENSED', code: 'demo' })
      const policy = await seedPolicy(db, gw.account, { product, authenticationStrategy: 'LICENSE' })
      await seedLicense(db, gw.account, { policy, key: KEY })
      demoGem = await seedPackage(db, gw.account, { product, key: 'demo_gem', engine: 'rubygems' })
      const demoDep = await seedPackage(db, gw.account, { product, key: 'demo_dep', engine: 'rubygems' })
      const [gem100, dep010] = await Promise.all([
        buildGem({ name: 'demo_gem', version: '1.0.0', requiredRubyVersion: '>= 2.5' }),
        buildGem({ name: 'demo_dep', version: '0.1.0', runtime: { demo_gem: ['>= 1.0', '< 2'] } }),
      ])
      await publishFile(gw, {
        product,
        package: demoGem,
        version: '1.0.0',
        filename: 'demo_gem-1.0.0.gem',
        bytes: gem100,
      })
      await publishFile(gw, {
        product,
        package: demoDep,
        version: '0.1.0',
        filename: 'demo_dep-0.1.0.gem',
        bytes: dep010,
      })
    }, 120_000)

    afterAll(async () => {
      await gw?.close()
      if (work) await rm(work, { recursive: true, force: true })
    })

    it('gem install --clear-sources --source http://license:KEY@… installs a private gem and its private dependency', async () => {
      const dir = join(work, 'gem-install')
      await mkdir(dir)
      const before = log.length
      const args = [
        'install',
        '--clear-sources',
        '--source',
        withKey(),
        '--no-document',
        '--install-dir',
        join(dir, 'gems'),
        'demo_dep',
      ]
      const install = await ruby('gem', args, dir)
      expect(install.code, install.stderr + install.stdout).toBe(0)
      expect(readdirSync(join(dir, 'gems', 'gems')).sort()).toEqual(['demo_dep-0.1.0', 'demo_gem-1.0.0'])
      const seen = log.slice(before).map((r) => `${r.method} ${r.url.replace(/\?.*$/, '')} ${r.status}`)
      expect(seen).toContain('HEAD /v1/engines/rubygems/ 200')
      expect(seen).toContain('GET /v1/engines/rubygems/info/demo_dep 200')
      expect(seen).toContain('GET /v1/engines/rubygems/quick/Marshal.4.8/demo_gem-1.0.0.gemspec.rz 200')
      expect(seen).toContain('GET /v1/engines/rubygems/gems/demo_gem-1.0.0.gem 303')
    })

    it('bundle install with bundle config credentials resolves a private dependency; a new version later comes by 206 appends', async () => {
      const dir = join(work, 'bundle-app')
      await mkdir(dir)
      await writeFile(join(dir, 'Gemfile'), `source ${JSON.stringify(source)}\ngem "demo_dep"\n`)
      const config = await ruby('bundle', ['config', 'set', '--local', source, `license:${KEY}`], dir)
      expect(config.code, config.stderr).toBe(0)
      expect((await ruby('bundle', ['config', 'set', '--local', 'path', 'vendor/bundle'], dir)).code).toBe(0)
      const first = await ruby('bundle', ['install'], dir)
      expect(first.code, first.stderr + first.stdout).toBe(0)
      const lock = await readFile(join(dir, 'Gemfile.lock'), 'utf8')
      expect(lock).toMatch(/^ {4}demo_dep \(0\.1\.0\)$/m)
      expect(lock).toMatch(/^ {4}demo_gem \(1\.0\.0\)$/m)
      expect(lock).not.toContain(KEY)

      await publishFile(gw, {
        product,
        package: demoGem,
        version: '1.1.0',
        filename: 'demo_gem-1.1.0.gem',
        bytes: await buildGem({ name: 'demo_gem', version: '1.1.0', requiredRubyVersion: '>= 2.5' }),
      })
      await writeFile(
        join(dir, 'Gemfile'),
        `source ${JSON.stringify(source)}\ngem "demo_dep"\ngem "demo_gem", "~> 1.1"\n`,
      )
      const before = log.length
      const second = await ruby('bundle', ['install'], dir)
      expect(second.code, second.stderr + second.stdout).toBe(0)
      expect(await readFile(join(dir, 'Gemfile.lock'), 'utf8')).toMatch(/^ {4}demo_gem \(1\.1\.0\)$/m)
      const index = log.slice(before).filter((r) => /\/(versions|info\/demo_gem)$/.test(r.url))
      // Bundler asked for the tail of its copies and got just the new lines, which matched the MD5 ETags.
      expect(index.map((r) => [r.url.replace('/v1/engines/rubygems/', ''), r.status, r.range !== undefined])).toEqual([
        ['versions', 206, true],
        ['info/demo_gem', 206, true],
      ])
      expect(existsSync(join(dir, 'vendor', 'bundle'))).toBe(true)
    })

    it('fails with an authentication error without credentials, installing nothing', async () => {
      const dir = join(work, 'anonymous')
      await mkdir(dir)
      const gem = await ruby(
        'gem',
        [
          'install',
          '--clear-sources',
          '--source',
          source,
          '--no-document',
          '--install-dir',
          join(dir, 'gems'),
          'demo_dep',
        ],
        dir,
      )
      expect(gem.code).not.toBe(0)
      expect(gem.stderr + gem.stdout).toMatch(/401|Unauthorized/)
      expect(existsSync(join(dir, 'gems', 'gems'))).toBe(false)

      await writeFile(join(dir, 'Gemfile'), `source ${JSON.stringify(source)}\ngem "demo_dep"\n`)
      await ruby('bundle', ['config', 'set', '--local', 'path', 'vendor/bundle'], dir)
      const bundle = await ruby('bundle', ['install'], dir, { BUNDLE_USER_HOME: join(dir, 'bundle-user') })
      expect(bundle.code).not.toBe(0)
      expect(bundle.stderr + bundle.stdout).toMatch(/Authentication is required for 127\.0\.0\.1/)
      // Bundler may lay out vendor/bundle before it fails: no gem of ours is in it.
      const vendored = existsSync(join(dir, 'vendor')) ? readdirSync(join(dir, 'vendor'), { recursive: true }) : []
      expect(vendored.filter((f) => String(f).includes('demo_'))).toEqual([])
      expect(existsSync(join(dir, 'Gemfile.lock'))).toBe(false)
    })
  },
)
