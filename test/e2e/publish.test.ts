import { createHash } from 'node:crypto'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { humanBytes } from '../../cli/vendor/progress.ts'
import { MANIFEST_TYPES } from '../../workers/process-upload/manifest.ts'
import { startWorkers } from '../../workers/index.ts'
import type { WorkerLogger } from '../../workers/runner.ts'
import { api, cli, lines, sha512raw, tempDir } from '../cli-vendor/helpers.ts'
import { basicAuth } from '../engines/pypi/fixtures.ts'
import { createTestGateway, type TestGateway } from '../helpers/app.ts'
import { buildGem, buildNpmTarball, buildWheel, tools, wheelFilename } from '../helpers/fixtures.ts'

/**
 * Issue 5, end to end: a vendor publishes a real wheel, npm tarball and gem with the real CLI (`node bin/pkgway.js
 * publish`, a child process) into a listening gateway whose workers verify each upload and store its manifests.
 * Broken uploads (wrong checksum, truncated, not an archive) end FAILED with their reason printed by the CLI,
 * their release stays a draft, and a customer's license is served none of them. Run on SQLite with filesystem
 * storage and on PostgreSQL with S3 (s3rver, presigned PUTs).
 */

const SLOW = { timeout: 120_000 }
const silent: WorkerLogger = { debug() {}, info() {}, warn() {}, error() {} }
const NO_GEM = tools.gem ? '' : 'the `gem` command (RubyGems) is not installed'
if (NO_GEM) console.warn(`publish e2e: the gem cases are skipped: ${NO_GEM}`)

const PYPI = 'demo-pkg'
const NPM = 'hello'
const GEM = 'demo_gem'
const LICENSE_KEY = 'PUBLISH-E2E-LICENSE-KEY'

interface Fixtures {
  wheel: Buffer
  wheel103: Buffer
  npm: Buffer
  npm101: Buffer
  gem?: Buffer
  gem104?: Buffer
}

let fx: Fixtures
let work: string

beforeAll(async () => {
  work = await tempDir('pkgway-e2e-publish-')
  const [wheel, wheel103, npm, npm101, gem, gem104] = await Promise.all([
    buildWheel({ name: PYPI, version: '1.0.0' }),
    buildWheel({ name: PYPI, version: '1.0.3' }),
    buildNpmTarball(NPM, '1.0.0'),
    buildNpmTarball(NPM, '1.0.1'),
    NO_GEM ? undefined : buildGem({ name: GEM, version: '1.0.0' }),
    NO_GEM ? undefined : buildGem({ name: GEM, version: '1.0.4' }),
  ])
  fx = { wheel, wheel103, npm, npm101, gem, gem104 }
}, 120_000)

const sha256hex = (buf: Buffer) => createHash('sha256').update(buf).digest('hex')

describe.each([
  { setup: 'SQLite + filesystem', catalog: 'sqlite', storage: 'filesystem' },
  { setup: 'PostgreSQL + s3rver', catalog: 'postgres', storage: 's3' },
] as const)('pkgway publish end to end ($setup)', SLOW, ({ catalog, storage }) => {
  let gw: TestGateway
  let workers: { stop(): Promise<void> }
  let dir: string
  let configFile: string
  let token: string

  const admin = (method: string, path: string, body?: unknown) => api(gw.url, gw.adminToken, method, path, body)
  const asProduct = (method: string, path: string) => api(gw.url, token, method, path)
  const license = { authorization: basicAuth('license', LICENSE_KEY) }

  /** asLicense GETs a path as the customer's license, following no redirect. */
  const asLicense = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${gw.url}${path}`, { redirect: 'manual', headers: { ...license, ...headers } })

  /** publish runs `pkgway publish <file> --product demo --package <key> --version <v> [extra…]`, not on a TTY. */
  async function publish(filename: string, bytes: Buffer, pkg: string, version: string, extra: string[] = []) {
    const path = join(dir, filename)
    await writeFile(path, bytes)
    const args = ['publish', path, '--product', 'demo', '--package', pkg, '--version', version, ...extra]
    return cli(args, { cwd: dir, configFile })
  }

  async function release(pkg: string, version: string) {
    const res = await asProduct('GET', `/v1/releases/${version}?product=demo&package=${pkg}`)
    expect(res.status).toBe(200)
    return res.json.data as { id: string; attributes: Record<string, unknown> }
  }

  async function artifactsOf(releaseId: string) {
    const res = await asProduct('GET', `/v1/releases/${releaseId}/artifacts`)
    expect(res.status).toBe(200)
    return res.json.data as Array<{ id: string; attributes: Record<string, unknown>; meta?: Record<string, unknown> }>
  }

  const manifestsOf = (artifactId: string) =>
    gw.catalog.db
      .selectFrom('manifests')
      .select(['content_type', 'content_path', 'content', 'content_digest', 'content_length'])
      .where('artifact_id', '=', artifactId)
      .orderBy('content_type')
      .execute()

  /**
   * expectPublished checks a successful run: the plain progress lines, exit 0, a PUBLISHED release with one
   * UPLOADED artifact whose digests the worker measured; it returns the artifact and its manifests.
   */
  async function expectPublished(exit: Awaited<ReturnType<typeof cli>>, pkg: string, filename: string, bytes: Buffer) {
    expect(exit.stderr).toBe('')
    expect(exit.code).toBe(0)
    const out = lines(exit.stdout)
    const id = /^published: release 1\.0\.0 \(([0-9a-f-]{36})\)$/.exec(out.at(-1) ?? '')?.[1]
    expect(id, exit.stdout).toBeDefined()
    expect(out).toEqual([
      `drafted: release 1.0.0 (${id}) in channel stable`,
      `uploaded: ${filename} (${humanBytes(bytes.length)})`,
      `processed: ${filename}`,
      `published: release 1.0.0 (${id})`,
    ])
    const rel = await release(pkg, '1.0.0')
    expect(rel.id).toBe(id)
    expect(rel.attributes.status).toBe('PUBLISHED')
    const [artifact, ...others] = await artifactsOf(rel.id)
    expect(others).toEqual([])
    expect(artifact.attributes).toMatchObject({
      filename,
      status: 'UPLOADED',
      filesize: bytes.length,
      checksum: sha512raw(bytes),
    })
    expect(artifact.meta?.sha256).toBe(sha256hex(bytes))
    const row = await gw.catalog.db
      .selectFrom('artifacts')
      .select(['status', 'sha256', 'sha512', 'content_length'])
      .where('id', '=', artifact.id)
      .executeTakeFirstOrThrow()
    expect(row).toMatchObject({
      status: 'UPLOADED',
      sha256: sha256hex(bytes),
      sha512: createHash('sha512').update(bytes).digest('hex'),
    })
    expect(Number(row.content_length)).toBe(bytes.length)
    const manifests = await manifestsOf(artifact.id)
    for (const m of manifests) {
      expect(m.content_digest).toBe(`sha256:${sha256hex(Buffer.from(m.content ?? ''))}`)
      expect(Number(m.content_length)).toBe(Buffer.byteLength(m.content ?? ''))
    }
    return { artifact, manifests }
  }

  /**
   * expectFailedRun checks a broken upload: exit 1, the FAILED reason on stderr exactly as the API reports it,
   * the "stays a draft" line, no `published:`, and a DRAFT release whose one artifact is FAILED.
   */
  async function expectFailedRun(
    exit: Awaited<ReturnType<typeof cli>>,
    pkg: string,
    version: string,
    filename: string,
    reason: RegExp,
  ) {
    expect(exit.code, exit.stderr).toBe(1)
    expect(exit.stdout).not.toMatch(/^published:/m)
    expect(exit.stdout).not.toMatch(/^processed:/m)
    const rel = await release(pkg, version)
    expect(rel.attributes.status).toBe('DRAFT')
    const [artifact, ...others] = await artifactsOf(rel.id)
    expect(others).toEqual([])
    expect(artifact.attributes).toMatchObject({ filename, status: 'FAILED' })
    const statusReason = artifact.meta?.statusReason as string
    expect(statusReason).toMatch(reason)
    expect(artifact.meta?.sha256).toBeUndefined()
    expect(lines(exit.stderr)).toEqual([
      `pkgway: ${filename}: processing failed: ${statusReason}`,
      `pkgway: release ${version} (${rel.id}) was not published; it stays a draft (run the same command again to resume)`,
    ])
    expect(await manifestsOf(artifact.id)).toEqual([])
    return { release: rel, artifact }
  }

  beforeAll(async () => {
    gw = await createTestGateway({ catalog, storage, listen: true })
    workers = startWorkers({
      catalog: gw.catalog,
      blobs: gw.blobs,
      config: { pollIntervalMs: 25, concurrency: 4, retryBaseMs: 50, wait: { fastIntervalMs: 100 } },
      log: silent,
    })
    dir = await mkdtemp(join(work, `${catalog}-`))
    const product = await admin('POST', '/v1/products', {
      data: { type: 'products', attributes: { name: 'Demo', code: 'demo' } },
    })
    expect(product.status).toBe(201)
    const productId = product.json.data.id
    for (const [key, engine] of [
      [PYPI, 'pypi'],
      [NPM, 'npm'],
      [GEM, 'rubygems'],
    ]) {
      const res = await admin('POST', '/v1/packages', {
        data: {
          type: 'packages',
          attributes: { name: key, key, engine },
          relationships: { product: { data: { type: 'products', id: productId } } },
        },
      })
      expect(res.status).toBe(201)
    }
    const policy = await admin('POST', '/v1/policies', {
      data: {
        type: 'policies',
        attributes: { name: 'Customers', authenticationStrategy: 'LICENSE' },
        relationships: { product: { data: { type: 'products', id: productId } } },
      },
    })
    expect(policy.status).toBe(201)
    const lic = await admin('POST', '/v1/licenses', {
      data: {
        type: 'licenses',
        attributes: { key: LICENSE_KEY },
        relationships: { policy: { data: { type: 'policies', id: policy.json.data.id } } },
      },
    })
    expect(lic.status).toBe(201)
    const tok = await admin('POST', `/v1/products/${productId}/tokens`)
    expect(tok.status).toBe(200)
    token = tok.json.data.attributes.token
    configFile = join(dir, 'cli.json')
    await writeFile(configFile, JSON.stringify({ host: gw.url, token }), { mode: 0o600 })
  })

  afterAll(async () => {
    await workers?.stop()
    await gw?.close()
  })

  it('publishes a real wheel; its METADATA is stored as PEP 658 core metadata', async () => {
    const filename = wheelFilename(PYPI, '1.0.0')
    const exit = await publish(filename, fx.wheel, PYPI, '1.0.0')
    const { manifests } = await expectPublished(exit, PYPI, filename, fx.wheel)
    expect(manifests).toHaveLength(1)
    expect(manifests[0]).toMatchObject({
      content_type: MANIFEST_TYPES.coreMetadata,
      content_path: `${filename}.metadata`,
    })
    expect(manifests[0].content).toMatch(/^Name: demo-pkg$/m)
    expect(manifests[0].content).toMatch(/^Version: 1\.0\.0$/m)
  })

  it('publishes a real npm tarball (npm pack); its package.json is stored verbatim', async () => {
    const filename = `${NPM}-1.0.0.tgz`
    const exit = await publish(filename, fx.npm, NPM, '1.0.0')
    const { manifests } = await expectPublished(exit, NPM, filename, fx.npm)
    expect(manifests).toHaveLength(1)
    expect(manifests[0]).toMatchObject({
      content_type: MANIFEST_TYPES.npmPackage,
      content_path: 'package/package.json',
    })
    expect(JSON.parse(manifests[0].content ?? '')).toMatchObject({ name: NPM, version: '1.0.0' })
  })

  it.skipIf(NO_GEM)(
    NO_GEM ? `publishes a real gem (skipped: ${NO_GEM})` : 'publishes a real gem (gem build); its gemspec is stored',
    async () => {
      const filename = `${GEM}-1.0.0.gem`
      const exit = await publish(filename, fx.gem!, GEM, '1.0.0')
      const { manifests } = await expectPublished(exit, GEM, filename, fx.gem!)
      expect(manifests.map((m) => [m.content_type, m.content_path])).toEqual([
        [MANIFEST_TYPES.gemInfo, 'metadata.gz'],
        [MANIFEST_TYPES.gemspec, 'metadata.gz'],
      ])
      const yaml = manifests.find((m) => m.content_type === MANIFEST_TYPES.gemspec)!.content ?? ''
      expect(yaml).toMatch(/^--- !ruby\/object:Gem::Specification$/m)
      expect(yaml).toMatch(/^name: demo_gem$/m)
      const info = JSON.parse(manifests.find((m) => m.content_type === MANIFEST_TYPES.gemInfo)!.content ?? '')
      expect(info).toMatchObject({ name: GEM, version: '1.0.0', platform: 'ruby' })
    },
  )

  it('a license is served the published files', async () => {
    const raw = await asLicense(`/v1/engines/raw/demo/@${NPM}/1.0.0/${NPM}-1.0.0.tgz`)
    expect(raw.status).toBe(303)
    const download = await asLicense(`/v1/artifacts/${NPM}-1.0.0.tgz`)
    expect(download.status).toBe(303)
    const stored = await fetch(new URL(download.headers.get('location')!, download.url))
    expect(stored.status).toBe(200)
    expect(Buffer.from(await stored.arrayBuffer()).equals(fx.npm)).toBe(true)
  })

  it('a wrong --checksum on a wheel: FAILED "checksum mismatch", a draft, and not on the simple page', async () => {
    const filename = wheelFilename(PYPI, '1.0.3')
    const wrong = sha512raw(Buffer.from('some other bytes'))
    const exit = await publish(filename, fx.wheel103, PYPI, '1.0.3', ['--checksum', wrong])
    expect(exit.stdout).toContain(`uploaded: ${filename} (`)
    const { artifact } = await expectFailedRun(
      exit,
      PYPI,
      '1.0.3',
      filename,
      /^checksum mismatch: the declared sha512 \(base64raw\) does not match the upload, whose sha512 is [0-9a-f]{128}$/,
    )
    // The checksum was sent verbatim, not the file's own SHA-512.
    expect(artifact.attributes.checksum).toBe(wrong)

    const page = await asLicense(`/v1/engines/pypi/simple/${PYPI}/`, { accept: 'application/vnd.pypi.simple.v1+json' })
    expect(page.status).toBe(200)
    const json = (await page.json()) as { files: Array<{ filename: string }> }
    expect(json.files.map((f) => f.filename)).toEqual([wheelFilename(PYPI, '1.0.0')])
    expect((await asLicense(`/v1/artifacts/${filename}`)).status).toBe(404)
    expect((await asLicense(`/v1/engines/raw/demo/@${PYPI}/1.0.3/${filename}`)).status).toBe(404)
  })

  it('a truncated npm tarball: FAILED "truncated", a draft, and not served', async () => {
    const filename = `${NPM}-1.0.1.tgz`
    const half = fx.npm101.subarray(0, Math.floor(fx.npm101.length / 2))
    const exit = await publish(filename, half, NPM, '1.0.1')
    await expectFailedRun(exit, NPM, '1.0.1', filename, /^the npm tarball is truncated$/)
    expect((await asLicense(`/v1/artifacts/${filename}`)).status).toBe(404)
    expect((await asLicense(`/v1/engines/raw/demo/@${NPM}/1.0.1/${filename}`)).status).toBe(404)
  })

  it('a .gem that is not a tar: FAILED "not a valid tar archive", a draft, and not served', async () => {
    const filename = `${GEM}-1.0.2.gem`
    const junk = Buffer.from('this is not a gem, just text pretending to be one\n'.repeat(40))
    const exit = await publish(filename, junk, GEM, '1.0.2')
    await expectFailedRun(exit, GEM, '1.0.2', filename, /^the gem is not a valid tar archive: /)
    expect((await asLicense(`/v1/artifacts/${filename}`)).status).toBe(404)
    expect((await asLicense(`/v1/engines/raw/demo/@${GEM}/1.0.2/${filename}`)).status).toBe(404)
  })

  it.skipIf(NO_GEM)(
    NO_GEM
      ? `a gem cut short after its metadata.gz (skipped: ${NO_GEM})`
      : 'a gem cut short after its metadata.gz: FAILED "truncated", a draft, and not served',
    async () => {
      const filename = `${GEM}-1.0.4.gem`
      // metadata.gz is the gem's first entry: the cut (off a 512-byte boundary) falls in a later one.
      const cut = fx.gem104!.subarray(0, fx.gem104!.length / 2 + 100)
      const exit = await publish(filename, cut, GEM, '1.0.4')
      await expectFailedRun(exit, GEM, '1.0.4', filename, /^the gem is truncated$/)
      expect((await asLicense(`/v1/engines/raw/demo/@${GEM}/1.0.4/${filename}`)).status).toBe(404)
    },
  )

  it('a FAILED artifact stays unserved even when its release is published by hand', async () => {
    const rel = await release(NPM, '1.0.1')
    const published = await api(gw.url, token, 'POST', `/v1/releases/${rel.id}/actions/publish`)
    expect(published.status).toBe(200)
    expect(published.json.data.attributes.status).toBe('PUBLISHED')
    expect((await asLicense(`/v1/artifacts/${NPM}-1.0.1.tgz`)).status).toBe(404)
    expect((await asLicense(`/v1/engines/raw/demo/@${NPM}/1.0.1/${NPM}-1.0.1.tgz`)).status).toBe(404)
    // The 1.0.0 tarball is still what a license gets for the package.
    expect((await asLicense(`/v1/engines/raw/demo/@${NPM}/1.0.0/${NPM}-1.0.0.tgz`)).status).toBe(303)
  })
})
