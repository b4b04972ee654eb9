import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Account } from '../../../gateway/catalog/types.ts'
import { createTestGateway, type TestGateway } from '../../helpers/app.ts'
import {
  seedEntitlement,
  seedLicense,
  seedPackage,
  seedPolicy,
  seedProduct,
  seedRelease,
  seedToken,
} from '../../helpers/seed.ts'
import { basicAuth } from '../pypi/fixtures.ts'
import { seedGem } from './fixtures.ts'

const HOST = '127.0.0.1:8080'
const TEXT = 'text/plain; charset=utf-8'
const JSONAPI = 'application/vnd.api+json; charset=utf-8'
const KEYS = { jruby: 'GEM-JRUBY-KEY', plain: 'GEM-PLAIN-KEY', other: 'GEM-OTHER-KEY' }
const hasRuby = spawnSync('ruby', ['-e', 'require "rubygems"'], { stdio: 'ignore' }).status === 0

const md5 = (s: string | Buffer) => createHash('md5').update(s).digest('hex')
const sha = (s: string) => createHash('sha256').update(s).digest('hex')
const at = (n: number) => `2024-10-0${n}T01:00:00.000Z`

/** ruby evaluates a script with the bytes on stdin and returns its output lines. */
function ruby(script: string, input: Buffer): string[] {
  const out = spawnSync('ruby', ['-e', `require "rubygems"; require "zlib"; ${script}`], { input, encoding: 'utf8' })
  if (out.status !== 0) throw new Error(out.stderr)
  return out.stdout.trim().split('\n')
}

/**
 * The RubyGems engine over seeded gems and manifests (as the upload worker stores them): exact compact index
 * bodies, MD5 ETags, Repr-Digest, 206 ranges, the Marshal indexes and quick gemspecs as real Ruby reads them,
 * `.gem` downloads, and who sees what. see: ../shared/spec/engines.md §2.4, §4.6–4.8
 */
describe('RubyGems engine', () => {
  let gw: TestGateway
  let account: Account
  let licenseToken: string

  beforeAll(async () => {
    gw = await createTestGateway()
    account = gw.account
    const db = gw.catalog.db
    const test1 = await seedProduct(db, account, { strategy: 'LICENSED', code: 'test1' })
    const test2 = await seedProduct(db, account, { strategy: 'OPEN', code: 'test2' })
    const test3 = await seedProduct(db, account, { strategy: 'LICENSED', code: 'test3' })
    const jruby = await seedEntitlement(db, account, { code: 'JRUBY' })
    const policy = await seedPolicy(db, account, { product: test1, authenticationStrategy: 'MIXED' })
    await seedLicense(db, account, { policy, key: KEYS.jruby, entitlements: [jruby] })
    const plain = await seedLicense(db, account, { policy, key: KEYS.plain })
    licenseToken = (await seedToken(db, account, { bearerType: 'license', bearer: plain })).raw
    const other = await seedPolicy(db, account, { product: test3, authenticationStrategy: 'LICENSE' })
    await seedLicense(db, account, { policy: other, key: KEYS.other })

    const foo = await seedPackage(db, account, { product: test1, key: 'foo', engine: 'rubygems' })
    const bar = await seedPackage(db, account, { product: test1, key: 'bar', engine: 'rubygems' })
    const baz = await seedPackage(db, account, { product: test2, key: 'baz', engine: 'rubygems' })
    const fooSpec = (version: string, platform?: string) => ({
      name: 'foo',
      version,
      platform,
      dependencies: { rails: ['runtime', ['>= 7.0']], rspec: ['development', ['~> 3.0']] } as const,
      requiredRubyVersion: ['>= 3.1'],
    })
    const release = (product: typeof test1, pkg: typeof foo, version: string, extra = {}) =>
      seedRelease(db, account, { product, package: pkg, version, status: 'PUBLISHED', ...extra })
    const gem = (
      r: Awaited<ReturnType<typeof release>>,
      filename: string,
      spec: object,
      n: number,
      sha256?: string | null,
    ) =>
      seedGem(db, account, {
        release: r,
        filename,
        spec: spec as never,
        sha256: sha256 === undefined ? sha(filename) : sha256,
        createdAt: at(n),
      })

    await gem(await release(test1, foo, '1.0.0'), 'foo-1.0.0.gem', fooSpec('1.0.0'), 1)
    await gem(await release(test1, foo, '1.0.1'), 'foo-1.0.1.gem', fooSpec('1.0.1'), 2)
    await gem(
      await release(test1, bar, '1.0.0-beta.1'),
      'bar-1.0.0.pre.beta.1.gem',
      { name: 'bar', version: '1.0.0.pre.beta.1' },
      3,
    )
    await gem(
      await release(test1, bar, '1.0.0-beta.2'),
      'bar-1.0.0.pre.beta.2.gem',
      { name: 'bar', version: '1.0.0.pre.beta.2' },
      4,
    )
    const bazSpec = (version: string) => ({ name: 'baz', version, dependencies: { rack: ['runtime', ['>= 0']] } })
    await gem(await release(test2, baz, '1.0.0', { status: 'YANKED' }), 'baz-1.0.0.gem', bazSpec('1.0.0'), 5, null)
    await gem(await release(test2, baz, '2.0.0'), 'baz-2.0.0.gem', bazSpec('2.0.0'), 6, null)
    const r110 = await release(test1, foo, '1.1.0', { constraints: [jruby] })
    await gem(r110, 'foo-1.1.0-java.gem', fooSpec('1.1.0', 'java'), 7)
    await gem(r110, 'foo-1.1.0.gem', fooSpec('1.1.0'), 8)
    const draft = await release(test1, bar, '1.0.0-beta.3', { status: 'DRAFT' })
    await gem(draft, 'bar-1.0.0.pre.beta.3.gem', { name: 'bar', version: '1.0.0.pre.beta.3' }, 9)
  })

  afterAll(async () => {
    await gw?.close()
  })

  const req = (method: 'GET' | 'HEAD', path: string, headers: Record<string, string> = {}) =>
    gw.app.inject({ method, url: `/v1/engines/rubygems/${path}`, headers: { host: HOST, ...headers } })
  const get = (path: string, headers: Record<string, string> = {}) => req('GET', path, headers)
  const license = (key: string, extra: Record<string, string> = {}) => ({
    authorization: basicAuth('license', key),
    ...extra,
  })

  const fooLine = (v: string) => `${v} rails:>= 7.0|checksum:${sha(`foo-${v}.gem`)},ruby:>= 3.1\n`
  const fooInfo = (...tokens: string[]) => `---\n${tokens.map(fooLine).join('')}`
  const barLine = (n: number) => `1.0.0.pre.beta.${n} |checksum:${sha(`bar-1.0.0.pre.beta.${n}.gem`)}\n`
  const bazInfo = '---\n2.0.0 rack:>= 0|checksum:\n'

  it('serves info/<gem> in publication order with runtime dependencies, an MD5 ETag and Repr-Digest', async () => {
    const res = await get('info/foo', license(KEYS.jruby))
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe(TEXT)
    expect(res.body).toBe(fooInfo('1.0.0', '1.0.1', '1.1.0-java', '1.1.0'))
    expect(res.headers.etag).toBe(`"${md5(res.body)}"`)
    expect(res.headers['repr-digest']).toBe(`sha-256=:${createHash('sha256').update(res.body).digest('base64')}:`)
    expect(res.headers['cache-control']).toBe('private, max-age=60')
    expect(res.headers['accept-ranges']).toBe('bytes')
    const plain = await get('info/foo', license(KEYS.plain))
    expect(plain.body).toBe(fooInfo('1.0.0', '1.0.1'))
    expect((await get('info/baz', license(KEYS.other))).body).toBe(bazInfo)
  })

  it('serves versions: one line per published version, each with the MD5 of info as of that version', async () => {
    const res = await get('versions', license(KEYS.plain))
    expect(res.statusCode).toBe(200)
    const bar1 = `---\n${barLine(1)}`
    expect(res.body).toBe(
      [
        'created_at: 2024-10-01T01:00:00Z',
        '---',
        `foo 1.0.0 ${md5(fooInfo('1.0.0'))}`,
        `foo 1.0.1 ${md5(fooInfo('1.0.0', '1.0.1'))}`,
        `bar 1.0.0.pre.beta.1 ${md5(bar1)}`,
        `bar 1.0.0.pre.beta.2 ${md5(bar1 + barLine(2))}`,
        `baz 2.0.0 ${md5(bazInfo)}`,
        '',
      ].join('\n'),
    )
    const token = await get('versions', { authorization: basicAuth('token', licenseToken) })
    expect(token.body).toBe(res.body)
    const scoped = await gw.app.inject({
      url: `/v1/accounts/${account.slug}/engines/rubygems/versions`,
      headers: { host: HOST, ...license(KEYS.plain) },
    })
    expect(scoped.body).toBe(res.body)
    // The last line of each gem names the MD5 of its whole info file, which Bundler compares with its copy.
    const info = await get('info/foo', license(KEYS.jruby))
    expect((await get('versions', license(KEYS.jruby))).body).toContain(`\nfoo 1.1.0 ${md5(info.body)}\n`)
  })

  it('serves names sorted; the anonymous view only has the OPEN gem, as `public`', async () => {
    expect((await get('names', license(KEYS.plain))).body).toBe('---\nbar\nbaz\nfoo\n')
    const anonymous = await get('names')
    expect(anonymous.body).toBe('---\nbaz\n')
    expect(anonymous.headers['cache-control']).toBe('public, max-age=60')
    expect((await get('versions')).body).toBe(`created_at: 2024-10-06T01:00:00Z\n---\nbaz 2.0.0 ${md5(bazInfo)}\n`)
  })

  it('answers Range: bytes=N- with 206 and the tail; an unsatisfiable range gets the whole file', async () => {
    const full = await get('versions', license(KEYS.plain))
    const from = full.body.length - 20
    const part = await get('versions', license(KEYS.plain, { range: `bytes=${from}-` }))
    expect(part.statusCode).toBe(206)
    expect(part.headers['content-range']).toBe(`bytes ${from}-${full.body.length - 1}/${full.body.length}`)
    expect(part.body).toBe(full.body.slice(from))
    expect(part.headers.etag).toBe(full.headers.etag)
    const beyond = await get('versions', license(KEYS.plain, { range: `bytes=${full.body.length + 5}-` }))
    expect(beyond.statusCode).toBe(200)
    expect(beyond.body).toBe(full.body)
  })

  it('answers 304 to a matching If-None-Match, even with a Range', async () => {
    const full = await get('info/foo', license(KEYS.plain))
    const res = await get(
      'info/foo',
      license(KEYS.plain, { 'if-none-match': full.headers.etag as string, range: 'bytes=10-' }),
    )
    expect(res.statusCode).toBe(304)
    expect(res.body).toBe('')
    // The validators and caching fields of the 200, not the digest of bytes a 304 does not send.
    expect(res.headers.etag).toBe(full.headers.etag)
    expect(res.headers['cache-control']).toBe(full.headers['cache-control'])
    expect(res.headers.vary).toBe('Authorization')
    expect(res.headers['repr-digest']).toBeUndefined()
  })

  it('answers HEAD and GET on the root and on versions (the probes of gem and RubyGems ≥ 3.5.19)', async () => {
    for (const path of ['', 'versions']) {
      expect((await req('HEAD', path, license(KEYS.plain))).statusCode, path).toBe(200)
      expect((await get(path, license(KEYS.plain))).statusCode, path).toBe(200)
    }
    expect((await req('HEAD', '')).statusCode).toBe(200)
    expect(
      (await gw.app.inject({ method: 'HEAD', url: '/v1/engines/rubygems', headers: { host: HOST } })).statusCode,
    ).toBe(200)
  })

  it('answers compact index errors with an empty text/plain body; 401 carries a Basic challenge', async () => {
    const hiddenGem = await get('info/foo', license(KEYS.other))
    expect(hiddenGem.statusCode).toBe(404)
    expect(hiddenGem.headers['content-type']).toBe('text/plain')
    expect(hiddenGem.body).toBe('')
    for (const path of ['info/foo', 'info/nope']) {
      const anonymous = await get(path)
      expect(anonymous.statusCode, path).toBe(401)
      expect(anonymous.headers['www-authenticate']).toBe('Basic realm="pkgway"')
      expect(anonymous.body).toBe('')
    }
    const wrong = await get('versions', license('NO-SUCH-KEY'))
    expect(wrong.statusCode).toBe(401)
    expect(wrong.headers['www-authenticate']).toBe('Basic realm="pkgway"')
    const html = await get('versions', license(KEYS.plain, { accept: 'text/html' }))
    expect(html.statusCode).toBe(400)
    expect(html.body).toBe('')
  })

  it.skipIf(!hasRuby)(
    'serves the Marshal specs indexes (stable, latest, prerelease) that real Ruby loads',
    async () => {
      const load = async (file: string, key: string) => {
        const res = await get(file, license(key))
        expect(res.statusCode, file).toBe(200)
        expect(res.headers['content-type']).toBe('application/octet-stream')
        return ruby(
          'puts Marshal.load(Zlib.gunzip($stdin.binmode.read)).map { |n, v, p| "#{n} #{v} #{p}" }',
          res.rawPayload,
        )
      }
      expect(await load('specs.4.8.gz', KEYS.jruby)).toEqual([
        'baz 2.0.0 ruby',
        'foo 1.0.0 ruby',
        'foo 1.0.1 ruby',
        'foo 1.1.0 java',
        'foo 1.1.0 ruby',
      ])
      expect(await load('specs.4.8.gz', KEYS.plain)).toEqual(['baz 2.0.0 ruby', 'foo 1.0.0 ruby', 'foo 1.0.1 ruby'])
      expect(await load('latest_specs.4.8.gz', KEYS.jruby)).toEqual([
        'baz 2.0.0 ruby',
        'foo 1.1.0 java',
        'foo 1.1.0 ruby',
      ])
      expect(await load('prerelease_specs.4.8.gz', KEYS.plain)).toEqual([
        'bar 1.0.0.pre.beta.1 ruby',
        'bar 1.0.0.pre.beta.2 ruby',
      ])
      const staff = await get('prerelease_specs.4.8.gz', { authorization: `Bearer ${gw.adminToken}` })
      expect(gunzipSync(staff.rawPayload).toString('latin1')).toContain('1.0.0.pre.beta.3')
    },
  )

  it.skipIf(!hasRuby)('serves quick/Marshal.4.8 gemspecs that real Ruby loads as Gem::Specification', async () => {
    const res = await get('quick/Marshal.4.8/foo-1.1.0-java.gemspec.rz', license(KEYS.jruby))
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe('application/octet-stream')
    expect(res.headers['content-disposition']).toBe('attachment; filename="foo-1.1.0-java.gemspec.rz"')
    expect(
      ruby(
        's = Marshal.load(Zlib::Inflate.inflate($stdin.binmode.read)); puts s.class, s.full_name, s.runtime_dependencies.map(&:to_s)',
        res.rawPayload,
      ),
    ).toEqual(['Gem::Specification', 'foo-1.1.0-java', 'rails (>= 7.0)'])
    expect((await get('quick/Marshal.4.8/foo-1.1.0-java.gemspec.rz', license(KEYS.plain))).statusCode).toBe(404)
    const missing = await get('quick/Marshal.4.8/foo-9.9.9.gemspec.rz', license(KEYS.plain))
    expect(missing.statusCode).toBe(404)
    expect(missing.headers['content-type']).toBe(JSONAPI)
    expect(missing.json().errors[0]).toMatchObject({ title: 'Not found', code: 'NOT_FOUND' })
  })

  it('answers gems/<file>.gem with 303 to an absolute storage URL; hidden gems are 404, or 401 for anonymous', async () => {
    const res = await get('gems/foo-1.0.0.gem', license(KEYS.plain))
    expect(res.statusCode).toBe(303)
    expect(res.headers.location).toMatch(
      new RegExp(
        `^http://${HOST}/v1/blobs/artifacts/${account.id}/[0-9a-f-]{36}/foo-1\\.0\\.0\\.gem\\?method=GET&expires=\\d+&sig=`,
      ),
    )
    expect((await get('gems/baz-2.0.0.gem')).statusCode).toBe(303)
    expect((await get('gems/foo-1.1.0.gem', license(KEYS.plain))).statusCode).toBe(404)
    expect((await get('gems/baz-1.0.0.gem', license(KEYS.plain))).statusCode).toBe(404)
    expect((await get('gems/foo', license(KEYS.plain))).statusCode).toBe(404)
    const anonymous = await get('gems/foo-1.0.0.gem')
    expect(anonymous.statusCode).toBe(401)
    expect(anonymous.headers['www-authenticate']).toBe('Basic realm="pkgway"')
    expect(anonymous.headers['content-type']).toBe(JSONAPI)
  })
})
