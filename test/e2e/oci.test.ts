import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWorkers } from '../../workers/index.ts'
import { api, cli, lines } from '../cli-vendor/helpers.ts'
import { createTestGateway, type TestGateway } from '../helpers/app.ts'
import {
  buildMultiPlatformLayout,
  type MultiPlatformImage,
  readIndex,
  tarLayout,
  umociImage,
} from '../helpers/oci-image.ts'

/**
 * Issue 12, end to end with real clients: images built with umoci (no Docker daemon) are tarred as OCI layouts,
 * published as release artifacts with `pkgway publish` (the real API, upload and workers: process-upload verifies,
 * oci-ingest ingests), then pulled through /v2/ by skopeo (inspect, list-tags, copy --all) and by a containerd
 * daemon the test starts as root with its own root, state and socket (`ctr content fetch`, which takes the POST
 * token flow). A multi-platform index with a buildx attestation manifest round-trips with its digests unchanged.
 * Both storage backends: SQLite + filesystem (blobs 307 to the gateway-signed /v1/blobs URL) and PostgreSQL +
 * s3rver on 127.0.0.2 (blobs 307 to a presigned URL on another host).
 * see: ../shared/spec/clients.md §4
 */

const run = (cmd: string, args: string[], timeout = 60_000) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(cmd, args, { timeout, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    )
  })

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0
const MISSING = ['skopeo', 'umoci', 'containerd', 'ctr'].filter((c) => !has(c))
const NOT_ROOT = process.getuid?.() !== 0
if (MISSING.length > 0) console.warn(`oci e2e skipped: not installed: ${MISSING.join(', ')} (apt-get install)`)
if (NOT_ROOT) console.warn('oci e2e: containerd cases skipped: they need root')

const KEY = 'OCI-E2E-LICENSE-KEY'
const SLOW = { timeout: 180_000 }
const silent = { debug() {}, info() {}, warn() {}, error() {} }
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`

let work: string
let single: { tar: Buffer; digest: string }
let multi: MultiPlatformImage & { tar: Buffer }

beforeAll(async () => {
  if (MISSING.length > 0) return
  work = await mkdtemp(join(tmpdir(), 'pkgway-e2e-oci-'))
  const one = join(work, 'single')
  await umociImage(join(one, 'layout'), '1.0.0')
  single = {
    tar: await tarLayout(join(one, 'layout'), join(one, 'image.tar')),
    digest: (await readIndex(join(one, 'layout'))).manifests[0].digest,
  }
  const image = await buildMultiPlatformLayout(join(work, 'multi'), 'latest')
  multi = { ...image, tar: await tarLayout(image.layout, join(work, 'multi', 'image.tar')) }
}, 120_000)

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true })
})

/** A containerd daemon of the test's own (root, state and socket in a temp dir; no CRI). */
async function startContainerd(dir: string): Promise<{ socket: string; stop(): Promise<void> }> {
  const socket = join(dir, 'containerd.sock')
  const config = join(dir, 'config.toml')
  await writeFile(
    config,
    [
      'version = 2',
      `root = "${join(dir, 'root')}"`,
      `state = "${join(dir, 'state')}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${socket}"`,
    ].join('\n'),
  )
  const child: ChildProcess = spawn('containerd', ['--config', config], { stdio: 'ignore' })
  for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 100))
  if (!existsSync(socket)) throw new Error('containerd did not start')
  return {
    socket,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
    },
  }
}

describe.skipIf(MISSING.length > 0).each([
  { setup: 'SQLite + filesystem', catalog: 'sqlite', storage: 'filesystem' },
  { setup: 'PostgreSQL + s3rver', catalog: 'postgres', storage: 's3' },
] as const)('OCI images pulled by skopeo and containerd ($setup)', SLOW, ({ catalog, storage }) => {
  let gw: TestGateway
  let workers: { stop(): Promise<void> }
  let host: string
  let dir: string
  /** Every request the gateway answered: method, path, status, Location. */
  const requests: { method: string; path: string; status: number; location?: string }[] = []

  const skopeo = (args: string[]) => run('skopeo', args)

  beforeAll(async () => {
    gw = await createTestGateway({ catalog, storage })
    gw.app.addHook('onResponse', async (request, reply) => {
      const location = reply.getHeader('location')
      requests.push({
        method: request.method,
        path: request.url.split('?')[0],
        status: reply.statusCode,
        ...(typeof location === 'string' ? { location } : {}),
      })
    })
    const url = (await gw.app.listen({ host: '127.0.0.1', port: 0 })).replace('localhost', '127.0.0.1')
    host = url.replace('http://', '')
    workers = startWorkers({
      catalog: gw.catalog,
      blobs: gw.blobs,
      config: { pollIntervalMs: 25, concurrency: 2, retryBaseMs: 50, wait: { fastIntervalMs: 100 } },
      log: silent,
    })
    dir = await mkdtemp(join(work, `${catalog}-`))
    const admin = (method: string, path: string, body?: unknown) => api(url, gw.adminToken, method, path, body)
    const product = await admin('POST', '/v1/products', {
      data: { type: 'products', attributes: { name: 'Demo', code: 'demo' } },
    })
    const productId = product.json.data.id
    const pkg = await admin('POST', '/v1/packages', {
      data: {
        type: 'packages',
        attributes: { name: 'app', key: 'app', engine: 'oci' },
        relationships: { product: { data: { type: 'products', id: productId } } },
      },
    })
    expect(pkg.status).toBe(201)
    const policy = await admin('POST', '/v1/policies', {
      data: {
        type: 'policies',
        attributes: { name: 'Customers', authenticationStrategy: 'LICENSE' },
        relationships: { product: { data: { type: 'products', id: productId } } },
      },
    })
    const license = await admin('POST', '/v1/licenses', {
      data: {
        type: 'licenses',
        attributes: { key: KEY },
        relationships: { policy: { data: { type: 'policies', id: policy.json.data.id } } },
      },
    })
    expect(license.status).toBe(201)
    const token = (await admin('POST', `/v1/products/${productId}/tokens`)).json.data.attributes.token
    const configFile = join(dir, 'cli.json')
    await writeFile(configFile, JSON.stringify({ host: url, token }), { mode: 0o600 })
    for (const [version, tag, tar] of [
      ['1.0.0', null, single.tar],
      ['2.0.0', 'latest', multi.tar],
    ] as const) {
      const file = join(dir, 'image.tar')
      await writeFile(file, tar)
      const args = ['publish', file, '--product', 'demo', '--package', 'app', '--version', version]
      const exit = await cli(tag ? [...args, '--tag', tag] : args, { cwd: dir, configFile })
      expect(exit.stderr).toBe('')
      expect(lines(exit.stdout).slice(-2)).toEqual([
        'processed: image.tar',
        expect.stringMatching(new RegExp(`^published: release ${version.replaceAll('.', '\\.')} `)),
      ])
    }
  }, 120_000)

  afterAll(async () => {
    await workers?.stop()
    await gw?.close()
  })

  it('skopeo inspects and lists tags with a license key, and fails without one', async () => {
    const creds = ['--tls-verify=false', '--creds', `license:${KEY}`]
    const inspect = await skopeo(['inspect', ...creds, `docker://${host}/app:1.0.0`])
    expect(inspect.stderr).toBe('')
    expect(inspect.code).toBe(0)
    expect(JSON.parse(inspect.stdout)).toMatchObject({
      Name: `${host}/app`,
      Digest: single.digest,
      RepoTags: ['1.0.0', '2.0.0', 'latest'],
      Architecture: 'amd64',
      Os: 'linux',
    })
    const tags = await skopeo(['list-tags', ...creds, `docker://${host}/app`])
    expect(JSON.parse(tags.stdout)).toEqual({ Repository: `${host}/app`, Tags: ['1.0.0', '2.0.0', 'latest'] })
    const anonymous = await skopeo(['inspect', '--tls-verify=false', `docker://${host}/app:1.0.0`])
    expect(anonymous.code).not.toBe(0)
    expect(anonymous.stderr).toMatch(/unauthorized/)
    const wrong = await skopeo([
      'inspect',
      '--tls-verify=false',
      '--creds',
      'license:WRONG',
      `docker://${host}/app:1.0.0`,
    ])
    expect(wrong.code).not.toBe(0)
    expect(wrong.stderr).toMatch(/unable to retrieve auth token: invalid username\/password: unauthorized/)
    expect(requests.some((r) => r.method === 'GET' && r.path === '/v2/token' && r.status === 200)).toBe(true)
  })

  it('skopeo copy --all round-trips the multi-platform index and its attestation with digests unchanged', async () => {
    const out = join(dir, 'copy')
    requests.length = 0
    const copy = await skopeo([
      'copy',
      '--all',
      '--src-tls-verify=false',
      '--src-creds',
      `license:${KEY}`,
      `docker://${host}/app:latest`,
      `oci:${out}:latest`,
    ])
    expect(copy.code, copy.stderr).toBe(0)
    expect((await readIndex(out)).manifests.map((d) => [d.mediaType, d.digest, d.size])).toEqual([
      [multi.index.mediaType, multi.index.digest, multi.index.size],
    ])
    // Every blob of the uploaded layout came back, byte for byte (the attestation manifest and its blobs too).
    const original = (await readdir(join(multi.layout, 'blobs', 'sha256'))).sort()
    const copied = (await readdir(join(out, 'blobs', 'sha256'))).sort()
    expect(copied).toEqual(original)
    for (const hex of copied) {
      expect(sha256(await readFile(join(out, 'blobs', 'sha256', hex)))).toBe(`sha256:${hex}`)
    }
    expect(copied).toContain(multi.attestation.digest.slice(7))
    const blobGets = requests.filter((r) => r.method === 'GET' && /^\/v2\/app\/blobs\//.test(r.path))
    expect(blobGets.length).toBeGreaterThan(0)
    for (const r of blobGets) {
      expect(r.status).toBe(307)
      if (storage === 's3') expect(new URL(r.location!).hostname).toBe('127.0.0.2')
      else expect(r.location).toMatch(/^\/v1\/blobs\/blobs\//)
    }
  })

  it.skipIf(NOT_ROOT)('containerd pulls the index through the POST token flow, and not without a key', async () => {
    const daemon = await startContainerd(await mkdtemp(join(tmpdir(), 'ctd-')))
    try {
      const ctr = (args: string[]) => run('ctr', ['--address', daemon.socket, ...args])
      const denied = await ctr(['content', 'fetch', '--plain-http', `${host}/app:latest`])
      expect(denied.code).not.toBe(0)
      expect(denied.stderr).toMatch(/401 Unauthorized|unauthorized/i)
      requests.length = 0
      const fetched = await ctr(['content', 'fetch', '--plain-http', '--user', `license:${KEY}`, `${host}/app:latest`])
      expect(fetched.code, fetched.stderr).toBe(0)
      expect(requests.filter((r) => r.path === '/v2/token').map((r) => [r.method, r.status])).toContainEqual([
        'POST',
        200,
      ])
      expect(requests.some((r) => r.method === 'GET' && r.path === '/v2/token')).toBe(false)
      const images = await ctr(['image', 'ls'])
      const ref = images.stdout.split('\n').find((l) => l.startsWith(`${host}/app:latest `))
      expect(ref?.split(/\s+/).slice(0, 3)).toEqual([`${host}/app:latest`, multi.index.mediaType, multi.index.digest])
      const content = (await ctr(['content', 'ls', '-q'])).stdout.split('\n')
      const amd64 = JSON.parse(
        (await readFile(join(multi.layout, 'blobs', 'sha256', multi.amd64.digest.slice(7)))).toString(),
      )
      for (const digest of [
        multi.index.digest,
        multi.amd64.digest,
        amd64.config.digest,
        ...amd64.layers.map((l: { digest: string }) => l.digest),
      ]) {
        expect(content).toContain(digest)
      }
    } finally {
      await daemon.stop()
    }
  })
})
