import { execFile, spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Account, ProductRow } from '../../gateway/catalog/types.ts'
import { artifactKey } from '../../gateway/storage/keys.ts'
import { processArtifact } from '../../workers/process-upload/index.ts'
import { buildWheel, type BuiltWheel } from '../engines/pypi/fixtures.ts'
import { createTestGateway, type TestGateway } from '../helpers/app.ts'
import { seedArtifact, seedLicense, seedPackage, seedPolicy, seedProduct, seedRelease } from '../helpers/seed.ts'

/**
 * Real pip (Debian's python3 + venv, pip 23) against a listening gateway: private wheels from the gateway, public
 * dependencies through the pass-through to a fake public index on 127.0.0.3, with filesystem and S3 storage.
 */

const PYTHON = '/usr/bin/python3'
const venvAvailable =
  spawnSync(PYTHON, ['-c', 'import venv, ensurepip'], { stdio: 'ignore' }).status === 0 &&
  spawnSync(PYTHON, ['-m', 'venv', '--help'], { stdio: 'ignore' }).status === 0
if (!venvAvailable) console.warn('pip e2e skipped: `/usr/bin/python3 -m venv` (python3-venv) is not available')

/** pip's version as [major, minor]. */
function pipVersion(text: string): [number, number] | null {
  const m = /pip[- ](\d+)\.(\d+)/.exec(text)
  return m ? [Number(m[1]), Number(m[2])] : null
}
const readsCoreMetadata = (v: [number, number] | null) => v !== null && (v[0] > 23 || (v[0] === 23 && v[1] >= 2))

/**
 * PEP 658 needs pip >= 23.2 over JSON (PEP 714 `core-metadata`); Debian 12's venv pip is 23.0.1, which ignores it
 * (as it does on pypi.org). Use the venv's own pip when it is new enough, else a newer pip wheel from this
 * machine's local wheelhouse, installed with --no-index; the test is skipped only when neither exists.
 */
const modernPip: string | null = (() => {
  if (!venvAvailable) return null
  const bundled = spawnSync(PYTHON, ['-c', 'import ensurepip; print(ensurepip.version())'], { encoding: 'utf8' })
  if (readsCoreMetadata(pipVersion(`pip ${bundled.stdout.trim()}`))) return 'venv'
  for (const dir of ['/opt/pypi/files', '/opt/wheels']) {
    let names: string[] = []
    try {
      names = readdirSync(dir)
    } catch {
      continue
    }
    const wheel = names.find((n) => n.startsWith('pip-') && n.endsWith('.whl') && readsCoreMetadata(pipVersion(n)))
    if (wheel) return join(dir, wheel)
  }
  console.warn('pip PEP 658 e2e skipped: the venv pip is older than 23.2 and no newer pip wheel is available locally')
  return null
})()

const KEY = 'PIP-E2E-LICENSE-KEY'
const quiet = { debug() {}, info() {}, warn() {}, error() {} }

interface PipResult {
  code: number
  stdout: string
  stderr: string
}

let work: string
let pip: string
let python: string

/** runPip runs the venv's pip isolated from this machine's pip configuration and environment. */
function runPip(args: string[], executable = pip): Promise<PipResult> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PIP_') && v !== undefined) env[k] = v
  Object.assign(env, {
    PIP_CONFIG_FILE: '/dev/null',
    PIP_NO_INPUT: '1',
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    PIP_NO_CACHE_DIR: '1',
    PIP_DEFAULT_TIMEOUT: '20',
  })
  return new Promise((resolve) => {
    execFile(executable, args, { env, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0
      resolve({ code, stdout, stderr })
    })
  })
}

/** FakeIndex is a public index on 127.0.0.3 serving `public-dep` and a hostile `vendor-pkg` 99.0.0. */
interface FakeIndex {
  app: FastifyInstance
  base: string
  hits: string[]
}

async function startFakeIndex(): Promise<FakeIndex> {
  const hits: string[] = []
  const app = Fastify()
  const wheels = new Map<string, BuiltWheel>()
  for (const w of [
    buildWheel({ name: 'public-dep', version: '1.0.0' }),
    buildWheel({ name: 'vendor-pkg', version: '99.0.0' }),
  ]) {
    wheels.set(w.filename, w)
  }
  app.addHook('onRequest', async (request) => {
    hits.push(request.url)
  })
  app.get<{ Params: { name: string } }>('/simple/:name/', async (request, reply) => {
    const files = [...wheels.values()].filter((w) =>
      w.filename.startsWith(`${request.params.name.replace(/-/g, '_')}-`),
    )
    if (files.length === 0) return reply.code(404).send('Not Found')
    const links = files.map((w) => `<a href="/files/${w.filename}#sha256=${w.sha256}">${w.filename}</a><br>`)
    return reply.type('text/html').send(`<!DOCTYPE html><html><body>${links.join('\n')}</body></html>`)
  })
  app.get<{ Params: { file: string } }>('/files/:file', async (request, reply) => {
    const w = wheels.get(request.params.file)
    return w ? reply.type('application/octet-stream').send(w.bytes) : reply.code(404).send()
  })
  const base = await app.listen({ host: '127.0.0.3', port: 0 })
  return { app, base, hits }
}

interface Private {
  gw: TestGateway
  account: Account
  hits: string[]
  wheels: Record<'v100' | 'v110', BuiltWheel>
  index: string
}

/**
 * startGateway listens on 127.0.0.1 with the given storage and publishes vendor-pkg 1.0.0 and 1.1.0 (which
 * depends on public-dep). The wheels go through the real upload worker, which stores METADATA and the sha256.
 */
async function startGateway(storage: 'filesystem' | 's3', upstream: string): Promise<Private> {
  const gw = await createTestGateway({ listen: true, storage, config: { pypi: { upstream } } })
  const hits: string[] = []
  gw.app.server.on('request', (req: { url?: string }) => hits.push(req.url ?? ''))
  const db = gw.catalog.db
  const account = gw.account
  const product: ProductRow = await seedProduct(db, account, { strategy: 'LICENSED' })
  const policy = await seedPolicy(db, account, { product, authenticationStrategy: 'LICENSE' })
  await seedLicense(db, account, { policy, key: KEY })
  const pkg = await seedPackage(db, account, { product, key: 'vendor-pkg', engine: 'pypi' })
  const wheels = {
    v100: buildWheel({ name: 'vendor-pkg', version: '1.0.0', requiresPython: '>=3.7' }),
    v110: buildWheel({ name: 'vendor-pkg', version: '1.1.0', requiresPython: '>=3.7', requiresDist: ['public-dep'] }),
  }
  for (const [version, wheel] of [
    ['1.0.0', wheels.v100],
    ['1.1.0', wheels.v110],
  ] as const) {
    const release = await seedRelease(db, account, { product, package: pkg, version, status: 'PUBLISHED' })
    const artifact = await seedArtifact(db, account, {
      release,
      filename: wheel.filename,
      status: 'WAITING',
      filesize: wheel.bytes.length,
      checksum: wheel.sha256,
    })
    await gw.blobs.write(artifactKey(account.id, release.id, wheel.filename), wheel.bytes)
    const result = await processArtifact({ catalog: gw.catalog, blobs: gw.blobs, log: quiet }, artifact.id)
    if (result.status !== 'UPLOADED') throw new Error(`upload processing failed: ${JSON.stringify(result)}`)
  }
  const index = `${gw.url.replace('://', `://license:${KEY}@`)}/v1/engines/pypi/simple/`
  return { gw, account, hits, wheels, index }
}

async function installedVersion(target: string, module: string): Promise<string> {
  const out = spawnSync(python, ['-c', `import ${module}; print(${module}.__version__)`], {
    env: { PYTHONPATH: target, PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
  })
  return out.stdout.trim()
}

describe.skipIf(!venvAvailable)('pip against pkgway', () => {
  let upstream: FakeIndex
  let fs: Private
  let s3: Private

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'pkgway-pip-'))
    const venv = join(work, 'venv')
    const made = spawnSync(PYTHON, ['-m', 'venv', venv], { encoding: 'utf8' })
    if (made.status !== 0) throw new Error(`python3 -m venv failed: ${made.stderr}`)
    pip = join(venv, 'bin', 'pip')
    python = join(venv, 'bin', 'python')
    upstream = await startFakeIndex()
    fs = await startGateway('filesystem', `${upstream.base}/simple/`)
    s3 = await startGateway('s3', `${upstream.base}/simple/`)
  }, 180_000)

  afterAll(async () => {
    await fs?.gw.close()
    await s3?.gw.close()
    await upstream?.app.close()
    if (work) await rm(work, { recursive: true, force: true })
  })

  for (const storage of ['filesystem', 's3'] as const) {
    it(`installs a private wheel and its public dependency (${storage} storage)`, async () => {
      const gw = storage === 'filesystem' ? fs : s3
      const target = join(work, `target-${storage}`)
      const res = await runPip(['install', '--target', target, '--index-url', gw.index, 'vendor-pkg'])
      expect(res.code, res.stderr).toBe(0)
      expect(await installedVersion(target, 'vendor_pkg')).toBe('1.1.0')
      expect(await installedVersion(target, 'public_dep')).toBe('1.0.0')
      expect(upstream.hits).toContain('/simple/public-dep/')
      expect(upstream.hits).not.toContain('/simple/vendor-pkg/')
      expect(res.stdout + res.stderr).not.toContain(KEY)
    }, 120_000)
  }

  it('installs the private project when asked for another spelling (Vendor_Pkg)', async () => {
    const target = join(work, 'target-spelling')
    upstream.hits.length = 0
    const res = await runPip(['install', '--target', target, '--index-url', fs.index, 'Vendor_Pkg==1.0.0'])
    expect(res.code, res.stderr).toBe(0)
    expect(await installedVersion(target, 'vendor_pkg')).toBe('1.0.0')
    expect(upstream.hits.filter((h) => h.includes('vendor'))).toEqual([])
  }, 120_000)

  it('fails cleanly without the license key', async () => {
    const anonymous = fs.index.replace(`license:${KEY}@`, '')
    const res = await runPip(['install', '--target', join(work, 'target-anon'), '--index-url', anonymous, 'vendor-pkg'])
    expect(res.code).not.toBe(0)
    expect(res.stderr).toContain('Could not find a version that satisfies the requirement vendor-pkg')
    expect(res.stderr).not.toContain('Traceback')
    expect(upstream.hits).not.toContain('/simple/vendor-pkg/')
  }, 120_000)

  it('downloads a pinned version without dependencies', async () => {
    const dest = join(work, 'download')
    const res = await runPip(['download', '--no-deps', '-d', dest, '--index-url', fs.index, 'vendor-pkg==1.0.0'])
    expect(res.code, res.stderr).toBe(0)
    expect(await readdir(dest)).toEqual([fs.wheels.v100.filename])
    expect(await readFile(join(dest, fs.wheels.v100.filename))).toEqual(fs.wheels.v100.bytes)
  }, 120_000)

  it.skipIf(!modernPip)(
    'resolves from PEP 658 metadata without fetching the wheels it rejects (pip >= 23.2)',
    async () => {
      const venv = join(work, 'venv-modern')
      if (spawnSync(PYTHON, ['-m', 'venv', venv]).status !== 0) throw new Error('python3 -m venv failed')
      const modern = join(venv, 'bin', 'pip')
      if (modernPip !== 'venv') {
        const up = await runPip(['install', '--no-index', modernPip as string], modern)
        expect(up.code, up.stderr).toBe(0)
      }
      // vendor-pkg 1.1.0 needs public-dep, constrained to a version that does not exist: pip must read 1.1.0's
      // metadata, reject it and settle on 1.0.0, and with PEP 658 it never downloads the 1.1.0 wheel to learn that.
      const constraints = join(work, 'constraints.txt')
      await writeFile(constraints, 'public-dep==9.9\n')
      const report = join(work, 'report.json')
      fs.hits.length = 0
      const res = await runPip(
        [
          'install',
          '--dry-run',
          '--ignore-installed',
          '--report',
          report,
          '-c',
          constraints,
          '--index-url',
          fs.index,
          'vendor-pkg',
        ],
        modern,
      )
      expect(res.code, res.stderr).toBe(0)
      const installs = JSON.parse(await readFile(report, 'utf8')).install as Array<{
        metadata: { name: string; version: string }
      }>
      expect(installs.map((i) => `${i.metadata.name} ${i.metadata.version}`)).toEqual(['vendor-pkg 1.0.0'])
      const v110 = fs.wheels.v110.filename
      expect(fs.hits.filter((h) => h.endsWith(`/${v110}.metadata`))).toHaveLength(1)
      expect(fs.hits.filter((h) => h.includes(v110) && !h.endsWith('.metadata'))).toEqual([])
      expect(fs.hits.filter((h) => h.includes('/artifacts/') || h.includes('/v1/blobs/'))).toEqual([])
    },
    180_000,
  )
})
