import * as seed from './seed.ts'
import { buildWheel as buildWheelFile, type WheelSpec } from './wheel.ts'
import { execFile, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import tarStream from 'tar-stream'
import type { Executor } from '../../gateway/catalog/accounts.ts'
import type { ArtifactRow, EngineKey } from '../../gateway/catalog/types.ts'
import type { BlobStore } from '../../gateway/storage/blob-store.ts'
import { artifactKey, uploadKey } from '../../gateway/storage/keys.ts'

/**
 * Real package files for tests, built the way their ecosystems build them (npm pack, gem build, Python's zipfile),
 * plus hand-made hostile archives (path traversal, links, zip bombs) and small catalog seeding helpers.
 * Techniques follow /work/shared/tools/make-*.sh.
 */

const run = promisify(execFile)

const has = (cmd: string, args: string[]) => {
  try {
    return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0
  } catch {
    return false
  }
}

export const tools = {
  npm: has('npm', ['--version']),
  gem: has('gem', ['--version']),
  python: has('python3', ['--version']),
}

async function inTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'pkgway-fixture-'))
  try {
    return await fn(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** buildNpmTarball runs `npm pack` on a tiny package; `packageJson` adds or overrides package.json fields. */
export async function buildNpmTarball(name: string, version: string, packageJson: object = {}): Promise<Buffer> {
  return inTempDir(async (dir) => {
    const src = join(dir, 'src')
    await mkdir(src)
    const manifest = {
      name,
      version,
      description: 'tiny test package',
      main: 'index.js',
      license: 'MIT',
      ...packageJson,
    }
    await writeFile(join(src, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
    await writeFile(join(src, 'index.js'), `module.exports = () => 'hello from ${name} ${version}'\n`)
    const { stdout } = await run('npm', ['pack', '--pack-destination', dir, '--json', '--silent', '--ignore-scripts'], {
      cwd: src,
      env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' },
    })
    const [packed] = JSON.parse(stdout) as [{ filename: string }]
    return readFile(join(dir, packed.filename))
  })
}

export interface GemSpec {
  name: string
  version: string
  /** Runtime dependencies: name → requirement parts, e.g. `{ rack: ['>= 1.0', '< 3'] }`. */
  runtime?: Record<string, string[]>
  development?: Record<string, string[]>
  requiredRubyVersion?: string
  platform?: string
}

const rubyList = (parts: string[]) => parts.map((p) => JSON.stringify(p)).join(', ')

/** buildGem runs `gem build` on a tiny gemspec. */
export async function buildGem(spec: GemSpec): Promise<Buffer> {
  return inTempDir(async (dir) => {
    await mkdir(join(dir, 'lib'))
    await writeFile(join(dir, 'lib', `${spec.name}.rb`), `module DemoGem; VERSION = '${spec.version}'; end\n`)
    const lines = [
      'Gem::Specification.new do |s|',
      `  s.name = ${JSON.stringify(spec.name)}; s.version = ${JSON.stringify(spec.version)}; s.summary = "tiny test gem"`,
      `  s.authors = ["lab"]; s.files = ["lib/${spec.name}.rb"]; s.license = "MIT"`,
      spec.requiredRubyVersion ? `  s.required_ruby_version = ${JSON.stringify(spec.requiredRubyVersion)}` : '',
      spec.platform ? `  s.platform = ${JSON.stringify(spec.platform)}` : '',
      ...Object.entries(spec.runtime ?? {}).map(
        ([n, r]) => `  s.add_runtime_dependency ${JSON.stringify(n)}, ${rubyList(r)}`,
      ),
      ...Object.entries(spec.development ?? {}).map(
        ([n, r]) => `  s.add_development_dependency ${JSON.stringify(n)}, ${rubyList(r)}`,
      ),
      'end',
    ]
    await writeFile(join(dir, 'demo.gemspec'), `${lines.filter(Boolean).join('\n')}\n`)
    await run('gem', ['build', 'demo.gemspec', '--silent', '-o', 'out.gem'], {
      cwd: dir,
      env: { ...process.env, HOME: dir },
    })
    return readFile(join(dir, 'out.gem'))
  })
}

/** buildWheel builds a real pure-Python wheel (see wheel.ts) and returns its bytes. */
export async function buildWheel(spec: WheelSpec): Promise<Buffer> {
  return buildWheelFile(spec).bytes
}

/** wheelFilename is the PEP 427 name of a py3-none-any wheel. */
export const wheelFilename = (name: string, version: string) =>
  `${name.replace(/[-_.]+/g, '_')}-${version}-py3-none-any.whl`

/**
 * lieAboutZipEntrySize rewrites the uncompressed size an entry declares (local header and central directory),
 * making a zip bomb that claims to be small.
 */
export function lieAboutZipEntrySize(zip: Buffer, entryName: string, size: number): Buffer {
  const out = Buffer.from(zip)
  const name = Buffer.from(entryName)
  let patched = 0
  for (let i = 0; i + 46 <= out.length; i++) {
    const sig = out.readUInt32LE(i)
    if (
      sig === 0x04034b50 &&
      out.subarray(i + 30, i + 30 + name.length).equals(name) &&
      out.readUInt16LE(i + 26) === name.length
    ) {
      out.writeUInt32LE(size, i + 22)
      patched++
    } else if (
      sig === 0x02014b50 &&
      out.subarray(i + 46, i + 46 + name.length).equals(name) &&
      out.readUInt16LE(i + 28) === name.length
    ) {
      out.writeUInt32LE(size, i + 24)
      patched++
    }
  }
  if (patched !== 2) throw new Error(`expected to patch 2 headers of ${entryName}, patched ${patched}`)
  return out
}

export interface TarEntrySpec {
  name: string
  type?: 'file' | 'directory' | 'symlink' | 'link'
  linkname?: string
  content?: string | Buffer
}

/** buildTar packs entries with tar-stream (for hostile archives npm pack and gem build would never make). */
export async function buildTar(entries: TarEntrySpec[], opts: { gzip?: boolean } = {}): Promise<Buffer> {
  const pack = tarStream.pack()
  const chunks: Buffer[] = []
  const done = (async () => {
    for await (const c of pack) chunks.push(Buffer.from(c as Uint8Array))
  })()
  for (const e of entries) {
    const content = typeof e.content === 'string' ? Buffer.from(e.content) : (e.content ?? Buffer.alloc(0))
    const header = { name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: 0o644, mtime: new Date(0) }
    await new Promise<void>((resolve, reject) => {
      if (header.type === 'file')
        pack.entry({ ...header, size: content.length }, content, (err) => (err ? reject(err) : resolve()))
      else pack.entry(header, (err) => (err ? reject(err) : resolve()))
    })
  }
  pack.finalize()
  await done
  const tar = Buffer.concat(chunks)
  return opts.gzip ? gzipSync(tar) : tar
}

/** buildOciLayoutTar makes a minimal OCI image layout tarball (oci-layout, index.json, one manifest blob). */
export async function buildOciLayoutTar(): Promise<Buffer> {
  const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}')
  const cfgDigest = createHash('sha256').update(config).digest('hex')
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: `sha256:${cfgDigest}`,
        size: config.length,
      },
      layers: [],
    }),
  )
  const mDigest = createHash('sha256').update(manifest).digest('hex')
  const index = JSON.stringify({
    schemaVersion: 2,
    manifests: [
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${mDigest}`, size: manifest.length },
    ],
  })
  return buildTar([
    { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
    { name: 'index.json', content: index },
    { name: 'blobs/sha256/', type: 'directory' },
    { name: `blobs/sha256/${cfgDigest}`, content: config },
    { name: `blobs/sha256/${mDigest}`, content: manifest },
  ])
}

/** corrupt flips bytes in the middle of a copy of buf (a damaged upload that still has its declared size). */
export function corrupt(buf: Buffer): Buffer {
  const out = Buffer.from(buf)
  const at = Math.floor(out.length / 2)
  for (let i = at; i < Math.min(out.length, at + 16); i++) out[i] ^= 0xff
  return out
}

type Algo = 'sha512' | 'sha256' | 'sha1' | 'md5' | 'sha384' | 'sha224'

/** checksum encodes a digest the way keygen CLI flags (and other tools) do. */
export function checksum(
  buf: Buffer,
  algorithm: Algo,
  encoding: 'hex' | 'base64' | 'base64raw' | 'base64url' | 'base64urlraw',
): string {
  const d = createHash(algorithm).update(buf).digest()
  switch (encoding) {
    case 'hex':
      return d.toString('hex')
    case 'base64':
      return d.toString('base64')
    case 'base64raw':
      return d.toString('base64').replace(/=+$/, '')
    case 'base64url':
      // The keygen CLI's base64url is padded.
      return d.toString('base64url') + '='.repeat((4 - (d.toString('base64url').length % 4)) % 4)
    case 'base64urlraw':
      return d.toString('base64url')
  }
}

// --- catalog seeding --------------------------------------------------------------------------------------------

export interface SeedInput {
  engine?: EngineKey | null
  /** Package key; no package when null. */
  packageKey?: string | null
  version?: string
  filename: string
  filetype?: string | null
  filesize?: number | null
  checksum?: string | null
  status?: ArtifactRow['status']
  createdAt?: string
}

export interface Seeded {
  accountId: string
  productId: string
  packageId: string | null
  releaseId: string
  artifactId: string
  /** The served key (where verified bytes are promoted to). */
  key: string
  /** The artifact's upload key, where clients PUT. */
  upload: string
}

/** seedArtifact creates an account, product, package (optional), published release and a WAITING artifact. */
export async function seedArtifact(db: Executor, input: SeedInput): Promise<Seeded> {
  const account = await seed.seedAccount(db)
  const product = await seed.seedProduct(db, account, { name: 'Product' })
  const pkg =
    input.packageKey === null || input.packageKey === undefined
      ? null
      : await seed.seedPackage(db, account, {
          product,
          key: input.packageKey,
          name: input.packageKey,
          engine: input.engine ?? null,
        })
  const release = await seed.seedRelease(db, account, {
    product,
    package: pkg,
    version: input.version ?? '1.0.0',
    status: 'PUBLISHED',
  })
  const artifact = await seed.seedArtifact(db, account, {
    release,
    filename: input.filename,
    filetype: input.filetype,
    filesize: input.filesize ?? null,
    checksum: input.checksum ?? null,
    status: input.status ?? 'WAITING',
  })
  const upload = uploadKey(account.id, release.id, artifact.id)
  await db
    .updateTable('artifacts')
    .set({ upload_key: upload, ...(input.createdAt ? { created_at: input.createdAt } : {}) })
    .where('id', '=', artifact.id)
    .execute()
  return {
    accountId: account.id,
    productId: product.id,
    packageId: pkg?.id ?? null,
    releaseId: release.id,
    artifactId: artifact.id,
    key: artifactKey(account.id, release.id, input.filename),
    upload,
  }
}

/** putUpload stores the artifact's bytes where a client's PUT would: at its upload key. */
export async function putUpload(blobs: BlobStore, seeded: Pick<Seeded, 'upload'>, body: Buffer): Promise<void> {
  await blobs.write(seeded.upload, body, { size: body.length })
}
