import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWorkers } from '../../workers/index.ts'
import type { WorkerLogger } from '../../workers/runner.ts'
import { createTestGateway, type TestGateway } from '../helpers/app.ts'
import { buildTar } from '../helpers/fixtures.ts'
import { api, cli, lines, sha512raw, tempDir } from './helpers.ts'

/**
 * The vendor CLI (`pkgway login|release|artifact|publish`) run as a real child process against a gateway
 * listening on 127.0.0.1, with the upload-processing workers running beside it. Each command is a fresh Node
 * process (a few seconds on a busy machine), hence the long timeouts.
 */

const SLOW = { timeout: 240_000 }

const silent: WorkerLogger = { debug() {}, info() {}, warn() {}, error() {} }

let gw: TestGateway
let workers: { stop(): Promise<void> }
let dir: string
let token: string
let productId: string
const NPM_KEY = 'acme-widget'

const admin = (method: string, path: string, body?: unknown) => api(gw.url, gw.adminToken, method, path, body)
const asProduct = (method: string, path: string, body?: unknown) => api(gw.url, token, method, path, body)

/** run executes `pkgway <args>` with its own config file (logged in as the product unless `login` is false). */
async function run(args: string[], opts: { login?: boolean; env?: NodeJS.ProcessEnv; configFile?: string } = {}) {
  const configFile = opts.configFile ?? join(await mkdtemp(join(dir, 'cfg-')), 'cli.json')
  if (opts.login !== false && !opts.configFile) {
    await writeFile(configFile, JSON.stringify({ host: gw.url, token }), { mode: 0o600 })
  }
  return cli(args, { cwd: dir, configFile, env: opts.env })
}

async function file(name: string, content: Buffer): Promise<string> {
  const path = join(dir, name)
  await writeFile(path, content)
  return path
}

async function artifactsOf(releaseId: string) {
  const res = await asProduct('GET', `/v1/releases/${releaseId}/artifacts?limit=100`)
  expect(res.status).toBe(200)
  return res.json.data as Array<{ id: string; attributes: Record<string, unknown>; meta?: Record<string, unknown> }>
}

beforeAll(async () => {
  gw = await createTestGateway({ listen: true })
  workers = startWorkers({
    catalog: gw.catalog,
    blobs: gw.blobs,
    config: { pollIntervalMs: 25, concurrency: 4, retryBaseMs: 50 },
    log: silent,
  })
  dir = await tempDir('pkgway-cli-vendor-')
  const product = await admin('POST', '/v1/products', {
    data: { type: 'products', attributes: { name: 'Demo', code: 'demo' } },
  })
  productId = product.json.data.id
  for (const [key, engine] of [
    ['app', null],
    [NPM_KEY, 'npm'],
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
  const prod = await admin('POST', `/v1/products/${productId}/tokens`)
  token = prod.json.data.attributes.token
})

afterAll(async () => {
  await workers?.stop()
  await gw?.close()
})

describe('pkgway login and logout', SLOW, () => {
  it('login checks the token with GET /v1/me and stores host and token in a 0600 file in a 0700 directory', async () => {
    const configFile = join(dir, 'fresh', 'pkgway', 'cli.json')
    const exit = await cli(['login', '--host', gw.url, '--token', token], { cwd: dir, configFile })
    expect(exit.stderr).toBe('')
    expect(exit.code).toBe(0)
    expect(exit.stdout).toContain(`logged in to ${gw.url} as product Demo (${productId})`)
    expect(JSON.parse(await readFile(configFile, 'utf8'))).toEqual({ host: gw.url, token })
    expect((await stat(configFile)).mode & 0o777).toBe(0o600)
    expect((await stat(join(dir, 'fresh', 'pkgway'))).mode & 0o777).toBe(0o700)

    const release = await cli(['release', 'create', '--product', 'demo', '--package', 'app', '--version', '0.0.1'], {
      cwd: dir,
      configFile,
    })
    expect(release.stderr).toBe('')
    expect(release.stdout).toMatch(/^drafted: release 0\.0\.1 \([0-9a-f-]{36}\) in channel stable$/m)

    const logout = await cli(['logout'], { cwd: dir, configFile })
    expect(logout.code).toBe(0)
    await expect(stat(configFile)).rejects.toThrow()
    const after = await cli(['release', 'publish', '--product', 'demo', '--release', '0.0.1'], { cwd: dir, configFile })
    expect(after.code).toBe(2)
    expect(lines(after.stderr)).toEqual([
      'pkgway: not logged in: run pkgway login --host <url> --token <token>, or pass --host and --token',
    ])
  })

  it("login with a wrong token prints the server's error, exits 1 and stores nothing", async () => {
    const configFile = join(dir, 'wrong', 'cli.json')
    const exit = await cli(['login', '--host', gw.url, '--token', `prod-${'0'.repeat(64)}v3`], { cwd: dir, configFile })
    expect(exit.code).toBe(1)
    expect(lines(exit.stderr)).toEqual([expect.stringMatching(/^pkgway: Unauthorized: .+ \(TOKEN_INVALID\)$/)])
    expect(exit.stderr).not.toMatch(/^\s+at /m)
    await expect(stat(configFile)).rejects.toThrow()
  })

  it('login with --account stores the account, and requests then use /v1/accounts/<account>/ paths', async () => {
    const configFile = join(dir, 'acct', 'cli.json')
    const ok = await cli(['login', '--host', gw.url, '--token', token, '--account', gw.account.slug], {
      cwd: dir,
      configFile,
    })
    expect(ok.code).toBe(0)
    expect(JSON.parse(await readFile(configFile, 'utf8'))).toEqual({ host: gw.url, token, account: gw.account.slug })
    const missing = await cli(['login', '--host', gw.url, '--token', token, '--account', 'no-such-account'], {
      cwd: dir,
      configFile: join(dir, 'acct', 'other.json'),
    })
    expect(missing.code).toBe(1)
    expect(lines(missing.stderr)).toEqual([expect.stringMatching(/^pkgway: Not found: .*no-such-account/)])
  })
})

describe('pkgway publish', SLOW, () => {
  it('drafts the release, uploads two files, waits for processing and publishes; plain lines when not a TTY', async () => {
    const binary = randomBytes(300_000)
    const tarball = await buildTar([{ name: 'app/README', content: 'hello\n' }], { gzip: true })
    const a = await file('app-linux-amd64.bin', binary)
    const b = await file('app-linux-amd64.tar.gz', tarball)
    const exit = await run([
      'publish',
      a,
      b,
      '--product',
      'demo',
      '--package',
      'app',
      '--version',
      '1.0.0',
      '--tag',
      'latest',
      '--platform',
      'linux',
      '--arch',
      'amd64',
    ])
    expect(exit.stderr).toBe('')
    expect(exit.code).toBe(0)
    const out = lines(exit.stdout)
    expect(out).toContain('uploaded: app-linux-amd64.bin (293.0 KiB)')
    expect(out).toContain(`uploaded: app-linux-amd64.tar.gz (${tarball.length} B)`)
    expect(out).toContain('processed: app-linux-amd64.bin')
    expect(exit.stdout).not.toContain('\x1b[')
    const published = /^published: release 1\.0\.0 \(([0-9a-f-]{36})\)$/.exec(out.at(-1)!)
    expect(published, exit.stdout).not.toBeNull()
    const releaseId = published![1]
    expect(out[0]).toBe(`drafted: release 1.0.0 (${releaseId}) in channel stable`)

    const release = await asProduct('GET', `/v1/releases/${releaseId}`)
    expect(release.json.data.attributes).toMatchObject({ status: 'PUBLISHED', version: '1.0.0', tag: 'latest' })
    const artifacts = await artifactsOf(releaseId)
    const byName = Object.fromEntries(artifacts.map((x) => [x.attributes.filename, x.attributes]))
    expect(byName['app-linux-amd64.bin']).toMatchObject({
      status: 'UPLOADED',
      filesize: binary.length,
      checksum: sha512raw(binary),
      filetype: 'bin',
      platform: 'linux',
      arch: 'amd64',
    })
    expect(byName['app-linux-amd64.tar.gz']).toMatchObject({
      status: 'UPLOADED',
      filesize: tarball.length,
      checksum: sha512raw(tarball),
      filetype: 'gz',
    })
    const stored = Buffer.concat(
      await (await gw.blobs.read(`artifacts/${gw.account.id}/${releaseId}/app-linux-amd64.bin`)).toArray(),
    )
    expect(stored.equals(binary)).toBe(true)
  })

  it('refuses a version that is already published, without uploading anything', async () => {
    const again = await file('again.bin', randomBytes(10))
    const exit = await run(['publish', again, '--product', 'demo', '--package', 'app', '--version', '1.0.0'])
    expect(exit.code).toBe(1)
    expect(lines(exit.stderr)).toEqual([
      expect.stringMatching(
        /^pkgway: release 1\.0\.0 \([0-9a-f-]{36}\) is already published; refusing to publish it again/,
      ),
    ])
    const release = await asProduct('GET', `/v1/releases/1.0.0?product=demo&package=app`)
    const names = (await artifactsOf(release.json.data.id)).map((x) => x.attributes.filename)
    expect(names).not.toContain('again.bin')
  })

  it('prints the reason of a FAILED artifact, exits 1 and leaves the release a draft; a rerun resumes it', async () => {
    const name = `${NPM_KEY}-2.0.0.tgz`
    const broken = await file(name, Buffer.from('this is not a gzipped tarball at all'))
    const good = await file('notes.txt', Buffer.from('release notes\n'))
    const args = ['publish', broken, good, '--product', 'demo', '--package', NPM_KEY, '--version', '2.0.0']
    const exit = await run(args)
    expect(exit.code).toBe(1)
    const release = await asProduct('GET', `/v1/releases/2.0.0?product=demo&package=${NPM_KEY}`)
    expect(release.json.data.attributes.status).toBe('DRAFT')
    const releaseId = release.json.data.id
    const failed = (await artifactsOf(releaseId)).find((x) => x.attributes.filename === name)!
    expect(failed.attributes.status).toBe('FAILED')
    const reason = failed.meta?.statusReason as string
    expect(reason).toBeTruthy()
    expect(lines(exit.stderr)).toEqual([
      `pkgway: ${name}: processing failed: ${reason}`,
      `pkgway: release 2.0.0 (${releaseId}) was not published; it stays a draft (run the same command again to resume)`,
    ])
    expect(exit.stdout).not.toMatch(/^published:/m)

    // The same command with a good tarball: the draft is resumed, the failed artifact replaced, notes.txt kept.
    const tgz = await buildTar(
      [{ name: 'package/package.json', content: JSON.stringify({ name: NPM_KEY, version: '2.0.0' }) }],
      { gzip: true },
    )
    await writeFile(broken, tgz)
    const rerun = await run(args)
    expect(rerun.stderr).toBe('')
    expect(rerun.code).toBe(0)
    const out = lines(rerun.stdout)
    expect(out[0]).toBe(`resuming draft: release 2.0.0 (${releaseId})`)
    expect(out).toContain(`uploaded: ${name} (${tgz.length} B)`)
    expect(out).toContain('unchanged: notes.txt (14 B, already in the release)')
    expect(out.at(-1)).toBe(`published: release 2.0.0 (${releaseId})`)
    const artifacts = await artifactsOf(releaseId)
    expect(artifacts.map((x) => [x.attributes.filename, x.attributes.status]).sort()).toEqual([
      [name, 'UPLOADED'],
      ['notes.txt', 'UPLOADED'],
    ])
  })
})

describe('pkgway release and artifact', SLOW, () => {
  it('derives the channel from the prerelease, uploads into the release, tags, untags, publishes, yanks and deletes it', async () => {
    const created = await run([
      'release',
      'create',
      '--product',
      productId,
      '--package',
      'app',
      '--version',
      '3.0.0-beta.2',
    ])
    expect(created.stderr).toBe('')
    const id = /^drafted: release 3\.0\.0-beta\.2 \(([0-9a-f-]{36})\) in channel beta$/m.exec(created.stdout)?.[1]
    expect(id, created.stdout).toBeDefined()

    const payload = randomBytes(2048)
    const upload = await run([
      'artifact',
      'upload',
      await file('plugin.zip', payload),
      '--release',
      '3.0.0-beta.2',
      '--product',
      'demo',
      '--package',
      'app',
      '--wait',
    ])
    expect(upload.stderr).toBe('')
    expect(lines(upload.stdout)).toEqual([
      'uploaded: plugin.zip (2.0 KiB)',
      'processed: plugin.zip',
      `release 3.0.0-beta.2 (${id}): 1 file(s) uploaded`,
    ])
    const [artifact] = await artifactsOf(id!)
    expect(artifact.attributes).toMatchObject({ status: 'UPLOADED', checksum: sha512raw(payload), filetype: 'zip' })

    const scope = ['--product', 'demo', '--package', 'app']
    const tag = await run(['release', 'tag', 'next', '--release', '3.0.0-beta.2', ...scope])
    expect(tag.stdout).toBe(`tagged: release 3.0.0-beta.2 (${id}) as next\n`)
    const publish = await run(['release', 'publish', '--release', 'next', ...scope])
    expect(publish.stdout).toBe(`published: release 3.0.0-beta.2 (${id})\n`)
    const untag = await run(['release', 'untag', '--release', 'next', ...scope])
    expect(untag.stdout).toBe(`untagged: release 3.0.0-beta.2 (${id})\n`)
    expect((await asProduct('GET', `/v1/releases/${id}`)).json.data.attributes).toMatchObject({
      status: 'PUBLISHED',
      tag: null,
      channel: 'beta',
    })
    const yank = await run(['release', 'yank', '--release', id!, ...scope])
    expect(yank.stdout).toBe(`yanked: release 3.0.0-beta.2 (${id})\n`)
    const del = await run(['release', 'delete', '--release', '3.0.0-beta.2', ...scope])
    expect(del.stdout).toBe(`deleted: release 3.0.0-beta.2 (${id})\n`)
    expect((await asProduct('GET', `/v1/releases/${id}`)).status).toBe(404)
  })

  it('--checksum is sent as given (a hex SHA-256 verifies); with several files or empty it is a usage error', async () => {
    const created = await asProduct('POST', '/v1/releases', {
      data: {
        type: 'releases',
        attributes: { version: '6.0.0', channel: 'stable' },
        relationships: { product: { data: { type: 'products', id: productId } } },
      },
    })
    expect(created.status).toBe(201)
    const payload = randomBytes(4096)
    const one = await file('checked.bin', payload)
    const two = await file('other.bin', randomBytes(10))
    const sha256 = createHash('sha256').update(payload).digest('hex')
    const [upload, several, blank] = await Promise.all([
      run(['artifact', 'upload', one, '--release', '6.0.0', '--product', 'demo', '--checksum', sha256, '--wait']),
      run(['publish', one, two, '--product', 'demo', '--version', '6.0.1', '--checksum', sha256]),
      run(['artifact', 'upload', one, '--release', '6.0.0', '--product', 'demo', '--checksum', ' ']),
    ])
    expect(upload.stderr).toBe('')
    expect(lines(upload.stdout)).toEqual([
      'uploaded: checked.bin (4.0 KiB)',
      'processed: checked.bin',
      `release 6.0.0 (${created.json.data.id}): 1 file(s) uploaded`,
    ])
    const [artifact] = await artifactsOf(created.json.data.id)
    expect(artifact.attributes).toMatchObject({ status: 'UPLOADED', checksum: sha256 })
    expect(several.code).toBe(2)
    expect(lines(several.stderr)).toEqual(['pkgway: --checksum applies to a single file, not 2'])
    expect((await asProduct('GET', '/v1/releases/6.0.1?product=demo')).status).toBe(404)
    expect(blank.code).toBe(2)
    expect(lines(blank.stderr)[0]).toMatch(
      /^pkgway: option '--checksum <value>' argument ' ' is invalid\. --checksum must not be empty/,
    )
  })

  it("prints the server's JSON:API error with its code and pointer, and exits 1", async () => {
    const exit = await run(['release', 'create', '--product', 'demo', '--package', 'app', '--version', '1.0.0'])
    expect(exit.code).toBe(1)
    expect(lines(exit.stderr)).toEqual([
      'pkgway: Unprocessable resource: version already exists (VERSION_TAKEN at /data/attributes/version)',
    ])
    const missing = await run(['release', 'publish', '--product', 'demo', '--release', '9.9.9'])
    expect(missing.code).toBe(1)
    expect(lines(missing.stderr)).toEqual([
      "pkgway: Not found: The requested release '9.9.9' was not found (NOT_FOUND)",
    ])
  })

  it('PKGWAY_URL and PKGWAY_TOKEN work without a login, and --token overrides them', async () => {
    const env = { PKGWAY_URL: gw.url, PKGWAY_TOKEN: token }
    const ok = await run(['release', 'create', '--product', 'demo', '--version', '4.0.0-rc.1'], { login: false, env })
    expect(ok.stderr).toBe('')
    expect(ok.stdout).toMatch(/^drafted: release 4\.0\.0-rc\.1 \(.+\) in channel rc$/m)
    const wrong = await run(['release', 'create', '--product', 'demo', '--version', '4.0.1', '--token', 'nope'], {
      login: false,
      env,
    })
    expect(wrong.code).toBe(1)
    expect(lines(wrong.stderr)).toHaveLength(1)
    expect(wrong.stderr).toMatch(/^pkgway: Unauthorized: /)
  })

  it('gives one line for an unreachable host and exit 2 for usage errors', async () => {
    const down = await run([
      'release',
      'publish',
      '--product',
      'demo',
      '--release',
      '1.0.0',
      '--host',
      'http://127.0.0.1:9',
      // The stored login's token is only ever sent to the stored host.
      '--token',
      'prod-unused',
    ])
    expect(down.code).toBe(1)
    expect(lines(down.stderr)).toEqual([
      expect.stringMatching(/^pkgway: cannot reach http:\/\/127\.0\.0\.1:9 .*ECONNREFUSED/),
    ])

    const [noVersion, badVersion, badMeta, noFile] = await Promise.all([
      run(['publish', 'x.bin', '--product', 'demo']),
      run(['release', 'create', '--product', 'demo', '--version', 'v1.0']),
      run(['release', 'create', '--product', 'demo', '--version', '1.0.1', '--metadata', '[1]']),
      run(['publish', join(dir, 'nope.bin'), '--product', 'demo', '--version', '5.0.0']),
    ])
    expect(noVersion.code).toBe(2)
    expect(noVersion.stderr).toMatch(/^pkgway: required option '--version <version>' not specified/)
    expect(badVersion.code).toBe(2)
    expect(lines(badVersion.stderr)[0]).toMatch(/^pkgway: invalid version "v1\.0"/)
    expect(badMeta.code).toBe(2)
    expect(lines(badMeta.stderr)).toEqual(['pkgway: --metadata must be a JSON object (got "[1]")'])
    expect(noFile.code).toBe(2)
    expect(lines(noFile.stderr)).toEqual([`pkgway: ${join(dir, 'nope.bin')}: no such file`])
  })
})

describe('pkgway publish with S3 storage', SLOW, () => {
  let s3: TestGateway
  let s3Workers: { stop(): Promise<void> }
  let s3Token: string

  beforeAll(async () => {
    s3 = await createTestGateway({ listen: true, storage: 's3' })
    s3Workers = startWorkers({
      catalog: s3.catalog,
      blobs: s3.blobs,
      config: { pollIntervalMs: 25, wait: { fastIntervalMs: 100 } },
      log: silent,
    })
    const call = (method: string, path: string, body?: unknown) => api(s3.url, s3.adminToken, method, path, body)
    const product = await call('POST', '/v1/products', { data: { type: 'products', attributes: { name: 'S3 Demo' } } })
    s3Token = (await call('POST', `/v1/products/${product.json.data.id}/tokens`)).json.data.attributes.token
  })
  afterAll(async () => {
    await s3Workers?.stop()
    await s3?.close()
  })

  it('PUTs the bytes straight to the presigned bucket URL and publishes once the gateway has seen them', async () => {
    const payload = randomBytes(100_000)
    const path = await file('s3-app.bin', payload)
    const product = (await api(s3.url, s3Token, 'GET', '/v1/me')).json.data.id
    const exit = await run(['publish', path, '--product', product, '--version', '1.0.0'], {
      login: false,
      env: { PKGWAY_URL: s3.url, PKGWAY_TOKEN: s3Token },
    })
    expect(exit.stderr).toBe('')
    expect(exit.code).toBe(0)
    const id = /^published: release 1\.0\.0 \((.+)\)$/m.exec(exit.stdout)?.[1]
    const [artifact] = (await api(s3.url, s3Token, 'GET', `/v1/releases/${id}/artifacts`)).json.data
    expect(artifact.attributes).toMatchObject({
      status: 'UPLOADED',
      filesize: payload.length,
      checksum: sha512raw(payload),
    })
  })
})
