import { createHash, randomBytes } from 'node:crypto'
import { gunzipSync, gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getRevision } from '../../gateway/catalog/accounts.ts'
import type { Catalog } from '../../gateway/catalog/db.ts'
import type { ArtifactRow, ManifestRow } from '../../gateway/catalog/types.ts'
import type { BlobStore } from '../../gateway/storage/blob-store.ts'
import { S3Store } from '../../gateway/storage/s3-store.ts'
import { createWorker, type WorkerConfig } from '../../workers/index.ts'
import {
  enqueueProcessUpload,
  enqueueWaitForUpload,
  JOB_KINDS,
  PROCESS_UPLOAD_MAX_ATTEMPTS,
} from '../../workers/kinds.ts'
import { MANIFEST_TYPES, processUploadHandler, UPLOAD_NEVER_ARRIVED } from '../../workers/process-upload/index.ts'
import { claimJobs, getJob } from '../../gateway/catalog/jobs.ts'
import type { Worker } from '../../workers/runner.ts'
import { type CatalogKind, catalogKinds } from '../helpers/catalog.ts'
import {
  buildGem,
  buildNpmTarball,
  buildOciLayoutTar,
  buildTar,
  buildWheel,
  checksum,
  corrupt,
  lieAboutZipEntrySize,
  putUpload,
  type SeedInput,
  type Seeded,
  seedArtifact,
  tools,
  wheelFilename,
} from '../helpers/fixtures.ts'
import { type S3Server, s3Credentials, startS3rver } from '../helpers/s3rver.ts'
import { memoryLog, openTwins, sleep, tempStore } from './helpers.ts'

const NO_GEM = !tools.gem
const NO_GEM_REASON = 'gem is not installed (apt-get install ruby) — skipping RubyGems cases'

interface Fixtures {
  npm: Buffer
  npmPackageJson: string
  gem?: Buffer
  gemMetadata?: string
  wheel: Buffer
  wheelMetadata: string
  oci: Buffer
}

const fx = {} as Fixtures

beforeAll(async () => {
  const [npm, wheel, oci] = await Promise.all([
    buildNpmTarball('@demo/hello', '1.0.0'),
    buildWheel({ name: 'demo-pkg', version: '1.0.0', requiresPython: '>=3.7' }),
    buildOciLayoutTar(),
  ])
  fx.npm = npm
  fx.wheel = wheel
  fx.oci = oci
  fx.wheelMetadata =
    'Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0.0\nSummary: test package\nRequires-Python: >=3.7\n'
  fx.npmPackageJson = await packageJsonOf(npm)
  if (!NO_GEM) {
    fx.gem = await buildGem({
      name: 'demo_gem',
      version: '1.0.0-beta.1',
      runtime: { rack: ['>= 1.0', '< 3'] },
      development: { rake: ['~> 13.0'] },
      requiredRubyVersion: '>= 2.5',
    })
  }
}, 120_000)

/** packageJsonOf reads package/package.json out of a tgz independently of the worker (a tiny tar walk). */
async function packageJsonOf(tgz: Buffer): Promise<string> {
  const tar = gunzipSync(tgz)
  for (let off = 0; off + 512 <= tar.length; ) {
    const name = tar
      .subarray(off, off + 100)
      .toString('utf8')
      .replace(/\0.*$/s, '')
    const size = Number.parseInt(
      tar
        .subarray(off + 124, off + 136)
        .toString('utf8')
        .replace(/\0.*$/s, '')
        .trim(),
      8,
    )
    if (name === 'package/package.json') return tar.subarray(off + 512, off + 512 + size).toString('utf8')
    off += 512 + Math.ceil((size || 0) / 512) * 512
    if (!name) break
  }
  throw new Error('no package.json')
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')
const sha512 = (b: Buffer | string) => createHash('sha512').update(b).digest('hex')

interface Env {
  catalog: Catalog
  blobs: BlobStore
  worker(config?: WorkerConfig): Worker
}

async function artifactOf(catalog: Catalog, id: string): Promise<ArtifactRow> {
  return catalog.db.selectFrom('artifacts').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
}

async function manifestsOf(catalog: Catalog, id: string): Promise<ManifestRow[]> {
  return catalog.db.selectFrom('manifests').selectAll().where('artifact_id', '=', id).orderBy('content_type').execute()
}

async function drain(w: Worker): Promise<number> {
  let total = 0
  for (let i = 0; i < 100; i++) {
    const n = await w.tick()
    if (n === 0) return total
    total += n
  }
  throw new Error('queue never drained')
}

const FAST: WorkerConfig = { retryBaseMs: 0, leaseMs: 5000, concurrency: 4 }

/** processUpload seeds an artifact, stores body (unless null), enqueues process-upload and runs it. */
async function processUpload(env: Env, input: SeedInput, body: Buffer | null, config: WorkerConfig = FAST) {
  const seeded = await seedArtifact(env.catalog.db, input)
  if (body) await putUpload(env.blobs, seeded, body)
  await enqueueProcessUpload(env.catalog.db, { id: seeded.artifactId, account_id: seeded.accountId })
  await drain(env.worker(config))
  return {
    seeded,
    artifact: await artifactOf(env.catalog, seeded.artifactId),
    manifests: await manifestsOf(env.catalog, seeded.artifactId),
  }
}

function expectFailed(artifact: ArtifactRow, reason: RegExp) {
  expect(artifact.status).toBe('FAILED')
  expect(artifact.status_reason).toMatch(reason)
  expect(artifact.status_reason).not.toContain('\n')
  expect(artifact.sha1).toBeNull()
  expect(artifact.sha256).toBeNull()
}

function expectUploaded(artifact: ArtifactRow, body: Buffer) {
  expect(artifact.status_reason).toBeNull()
  expect(artifact.status).toBe('UPLOADED')
  expect(Number(artifact.content_length)).toBe(body.length)
  expect(artifact.sha1).toBe(createHash('sha1').update(body).digest('hex'))
  expect(artifact.sha256).toBe(sha256(body))
  expect(artifact.sha512).toBe(sha512(body))
}

const npmInput = (over: Partial<SeedInput> = {}): SeedInput => ({
  engine: 'npm',
  packageKey: '@demo/hello',
  version: '1.0.0',
  filename: 'hello-1.0.0.tgz',
  filetype: 'tgz',
  ...over,
})

const gemInput = (over: Partial<SeedInput> = {}): SeedInput => ({
  engine: 'rubygems',
  packageKey: 'demo_gem',
  version: '1.0.0-beta.1',
  filename: 'demo_gem-1.0.0.pre.beta.1.gem',
  filetype: 'gem',
  ...over,
})

const wheelInput = (over: Partial<SeedInput> = {}): SeedInput => ({
  engine: 'pypi',
  packageKey: 'demo-pkg',
  version: '1.0.0',
  filename: wheelFilename('demo-pkg', '1.0.0'),
  filetype: 'whl',
  ...over,
})

function uploadSuite(
  label: string,
  open: () => Promise<{ catalog: Catalog; other?: Catalog; close(): Promise<void> }>,
) {
  describe(label, () => {
    const env = {} as Env & { other?: Catalog; close(): Promise<void> }
    beforeAll(async () => {
      const opened = await open()
      env.catalog = opened.catalog
      env.other = opened.other
      env.close = opened.close
      env.blobs = tempStore()
      env.worker = (config = FAST) => createWorker({ catalog: env.catalog, blobs: env.blobs, config, log: memoryLog() })
    })
    afterAll(async () => {
      await env.close?.()
    })

    describe('npm', () => {
      it('stores package/package.json as the manifest and the measured digests', async () => {
        const before = { revision: 0 }
        const seeded = await seedArtifact(env.catalog.db, npmInput({ filesize: fx.npm.length }))
        before.revision = await getRevision(env.catalog.db, seeded.accountId)
        await putUpload(env.blobs, seeded, fx.npm)
        await enqueueProcessUpload(env.catalog.db, { id: seeded.artifactId, account_id: seeded.accountId })
        await drain(env.worker())
        const artifact = await artifactOf(env.catalog, seeded.artifactId)
        expectUploaded(artifact, fx.npm)
        const [m, ...rest] = await manifestsOf(env.catalog, seeded.artifactId)
        expect(rest).toEqual([])
        expect(m).toMatchObject({
          content_type: MANIFEST_TYPES.npmPackage,
          content_path: 'package/package.json',
          content: fx.npmPackageJson,
          content_digest: `sha256:${sha256(fx.npmPackageJson)}`,
          account_id: seeded.accountId,
          release_id: seeded.releaseId,
        })
        expect(Number(m.content_length)).toBe(Buffer.byteLength(fx.npmPackageJson))
        expect(JSON.parse(m.content)).toMatchObject({ name: '@demo/hello', version: '1.0.0' })
        // PROCESSING, then UPLOADED: each write bumped the revision.
        expect(await getRevision(env.catalog.db, seeded.accountId)).toBe(before.revision + 2)
      })

      it('accepts the keygen CLI default checksum (SHA-512, unpadded base64)', async () => {
        const { artifact } = await processUpload(
          env,
          npmInput({ filesize: fx.npm.length, checksum: checksum(fx.npm, 'sha512', 'base64raw') }),
          fx.npm,
        )
        expectUploaded(artifact, fx.npm)
      })

      it('fails a corrupted copy: checksum mismatch when one was declared, a gzip error otherwise', async () => {
        const bad = corrupt(fx.npm)
        const declared = await processUpload(
          env,
          npmInput({ filesize: fx.npm.length, checksum: checksum(fx.npm, 'sha512', 'base64raw') }),
          bad,
        )
        expectFailed(declared.artifact, /^checksum mismatch: the declared sha512 \(base64raw\)/)
        expect(declared.manifests).toEqual([])
        const undeclared = await processUpload(env, npmInput(), bad)
        expectFailed(undeclared.artifact, /npm tarball|gzip/)
      })

      it('fails a truncated upload: size mismatch when declared, truncated otherwise', async () => {
        const half = fx.npm.subarray(0, Math.floor(fx.npm.length / 2))
        const sized = await processUpload(env, npmInput({ filesize: fx.npm.length }), half)
        expectFailed(
          sized.artifact,
          new RegExp(`^size mismatch: declared ${fx.npm.length} bytes, the upload has ${half.length} bytes$`),
        )
        const unsized = await processUpload(env, npmInput(), half)
        expectFailed(unsized.artifact, /npm tarball is truncated|gzip/)
        // package.json first: the tarball is still read to its end, so a cut after it is found too.
        const pj = JSON.stringify({ name: '@demo/hello', version: '1.0.0' })
        const early = await buildTar(
          [
            { name: 'package/package.json', content: pj },
            { name: 'package/blob.bin', content: randomBytes(20_000) },
          ],
          { gzip: true },
        )
        const cut = await processUpload(env, npmInput(), early.subarray(0, early.length - 1000))
        expectFailed(cut.artifact, /^the npm tarball is truncated$/)
        expectUploaded((await processUpload(env, npmInput(), early)).artifact, early)
      })

      it('fails on name or version mismatch', async () => {
        const name = await processUpload(env, npmInput({ packageKey: 'other-pkg' }), fx.npm)
        expectFailed(
          name.artifact,
          /^package name mismatch: package.json names @demo\/hello, the package key is other-pkg$/,
        )
        const version = await processUpload(env, npmInput({ version: '1.0.1' }), fx.npm)
        expectFailed(
          version.artifact,
          /^version mismatch: package.json version is 1.0.0, the release version is 1.0.1$/,
        )
        // semver-equal: build metadata does not count.
        const build = await processUpload(env, npmInput({ version: '1.0.0+build.7' }), fx.npm)
        expectUploaded(build.artifact, fx.npm)
      })

      it('fails what is not a gzip, has no package.json, or is not JSON', async () => {
        const text = Buffer.from('hello, I am not a tarball\n')
        expectFailed((await processUpload(env, npmInput(), text)).artifact, /^the npm tarball is not gzip-compressed$/)
        const noManifest = await buildTar([{ name: 'package/index.js', content: 'x' }], { gzip: true })
        expectFailed(
          (await processUpload(env, npmInput(), noManifest)).artifact,
          /^package\/package.json is missing from the npm tarball$/,
        )
        const notJson = await buildTar([{ name: 'package/package.json', content: '{nope' }], { gzip: true })
        expectFailed(
          (await processUpload(env, npmInput(), notJson)).artifact,
          /^package\/package.json is not valid JSON/,
        )
        const gzNotTar = gzipSync(Buffer.alloc(2048, 7))
        expectFailed((await processUpload(env, npmInput(), gzNotTar)).artifact, /not a valid tar archive/)
      })

      it('refuses unsafe tar entries: .. paths and links', async () => {
        const pj = JSON.stringify({ name: '@demo/hello', version: '1.0.0' })
        const dotdot = await buildTar(
          [
            { name: 'package/../../etc/evil', content: 'x' },
            { name: 'package/package.json', content: pj },
          ],
          { gzip: true },
        )
        expectFailed(
          (await processUpload(env, npmInput(), dotdot)).artifact,
          /unsafe path: "package\/..\/..\/etc\/evil"/,
        )
        const absolute = await buildTar([{ name: '/etc/passwd', content: 'x' }], { gzip: true })
        expectFailed((await processUpload(env, npmInput(), absolute)).artifact, /unsafe path/)
        const symlink = await buildTar(
          [
            { name: 'package/link', type: 'symlink', linkname: '/etc/passwd' },
            { name: 'package/package.json', content: pj },
          ],
          { gzip: true },
        )
        expectFailed(
          (await processUpload(env, npmInput(), symlink)).artifact,
          /^the npm tarball holds a symbolic link: package\/link -> \/etc\/passwd$/,
        )
        const hardlink = await buildTar(
          [
            { name: 'package/a', content: 'x' },
            { name: 'package/package.json', type: 'link', linkname: 'package/a' },
          ],
          { gzip: true },
        )
        expectFailed((await processUpload(env, npmInput(), hardlink)).artifact, /hard link/)
      })

      it('enforces the manifest, entry and artifact limits', async () => {
        const big = await buildNpmTarball('@demo/hello', '1.0.0', { description: 'x'.repeat(4096) })
        const manifest = await processUpload(env, npmInput(), big, { ...FAST, limits: { maxManifestBytes: 1024 } })
        expectFailed(manifest.artifact, /^package\/package.json is larger than the 1 KiB limit$/)
        const many = await buildTar(
          [...Array.from({ length: 20 }, (_, i) => ({ name: `package/f${i}`, content: 'x' }))],
          { gzip: true },
        )
        const entries = await processUpload(env, npmInput(), many, { ...FAST, limits: { maxEntries: 10 } })
        expectFailed(entries.artifact, /^no package\/package.json among the first 10 entries$/)
        // A gzip bomb: a 64 MiB entry of zeros that compresses to ~64 KiB.
        const bomb = await buildTar([{ name: 'package/zeros', content: Buffer.alloc(64 * 1024 * 1024) }], {
          gzip: true,
        })
        expect(bomb.length).toBeLessThan(1024 * 1024)
        const entry = await processUpload(env, npmInput(), bomb, { ...FAST, limits: { maxTarEntryBytes: 1024 * 1024 } })
        expectFailed(entry.artifact, /^tar entry package\/zeros is larger than the 1 MiB limit$/)
        const artifact = await processUpload(env, npmInput(), fx.npm, { ...FAST, limits: { maxArtifactBytes: 100 } })
        expectFailed(artifact.artifact, /^the upload is larger than the 100 bytes limit$/)
      })

      it('a tgz outside an npm package is only verified', async () => {
        const { artifact, manifests } = await processUpload(env, npmInput({ engine: 'raw' }), fx.npm)
        expectUploaded(artifact, fx.npm)
        expect(manifests).toEqual([])
      })
    })

    describe.skipIf(NO_GEM)(NO_GEM ? `rubygems (skipped: ${NO_GEM_REASON})` : 'rubygems', () => {
      it('stores the YAML gemspec and the compact-index fields', async () => {
        const gem = fx.gem!
        const { artifact, manifests, seeded } = await processUpload(
          env,
          gemInput({ filesize: gem.length, checksum: checksum(gem, 'sha256', 'hex') }),
          gem,
        )
        expectUploaded(artifact, gem)
        expect(manifests.map((m) => m.content_type).sort()).toEqual(
          [MANIFEST_TYPES.gemspec, MANIFEST_TYPES.gemInfo].sort(),
        )
        const yaml = manifests.find((m) => m.content_type === MANIFEST_TYPES.gemspec)!
        expect(yaml.content).toMatch(/^--- !ruby\/object:Gem::Specification\nname: demo_gem\n/)
        expect(yaml).toMatchObject({ content_path: 'metadata.gz', content_digest: `sha256:${sha256(yaml.content)}` })
        const info = manifests.find((m) => m.content_type === MANIFEST_TYPES.gemInfo)!
        expect(JSON.parse(info.content)).toEqual({
          name: 'demo_gem',
          version: '1.0.0.pre.beta.1',
          platform: 'ruby',
          dependencies: [
            { name: 'rack', requirements: ['>= 1.0', '< 3'], type: 'runtime', runtime: true },
            { name: 'rake', requirements: ['~> 13.0'], type: 'development', runtime: false },
          ],
          required_ruby_version: ['>= 2.5'],
          required_rubygems_version: ['> 1.3.1'],
        })
        expect(info.release_id).toBe(seeded.releaseId)
      })

      it('takes a gem whose prerelease segments the release spells after its dash (1.0.0-pre.beta.1)', async () => {
        const gem = fx.gem!
        expectUploaded((await processUpload(env, gemInput({ version: '1.0.0-pre.beta.1' }), gem)).artifact, gem)
      })

      it('fails on name or version mismatch', async () => {
        const gem = fx.gem!
        expectFailed(
          (await processUpload(env, gemInput({ packageKey: 'other_gem' }), gem)).artifact,
          /^gem name mismatch: the gemspec names demo_gem, the package key is other_gem$/,
        )
        expectFailed(
          (await processUpload(env, gemInput({ version: '1.0.0' }), gem)).artifact,
          /^gem version mismatch: the gemspec version is 1.0.0.pre.beta.1, the release version is 1.0.0$/,
        )
      })

      it('fails a corrupted gem', async () => {
        const gem = fx.gem!
        const bad = corrupt(gem)
        expectFailed(
          (await processUpload(env, gemInput({ checksum: checksum(gem, 'sha512', 'base64') }), bad)).artifact,
          /^checksum mismatch: the declared sha512 \(base64\)/,
        )
        const truncated = gem.subarray(0, 700)
        expectFailed((await processUpload(env, gemInput(), truncated)).artifact, /gem|metadata/)
        expectFailed((await processUpload(env, gemInput(), Buffer.from('not a gem'))).artifact, /gem/)
        // metadata.gz comes first: a gem cut anywhere after it (not on an entry boundary) is truncated too.
        const cut = gem.subarray(0, gem.length - 1024 - 100)
        expectFailed((await processUpload(env, gemInput(), cut)).artifact, /^the gem is truncated$/)
      })

      it('fails a tar cut inside an entry it skips, before or after metadata.gz, without crashing', async () => {
        const skipped = await buildTar([
          { name: 'data.tar.gz', content: randomBytes(5000) },
          { name: 'metadata.gz', content: gzipSync('--- {}\n') },
        ])
        const before = skipped.subarray(0, 3000)
        expectFailed((await processUpload(env, gemInput(), before)).artifact, /^the gem is truncated$/)
      })

      it('fails a gem whose metadata is missing or is no gemspec', async () => {
        const noMeta = await buildTar([{ name: 'data.tar.gz', content: 'x' }])
        expectFailed((await processUpload(env, gemInput(), noMeta)).artifact, /^metadata.gz is missing from the gem$/)
        const notGz = await buildTar([{ name: 'metadata.gz', content: 'plain text' }])
        expectFailed(
          (await processUpload(env, gemInput(), notGz)).artifact,
          /^metadata.gz of the gem is not valid gzip/,
        )
        const badYaml = await buildTar([{ name: 'metadata.gz', content: gzipSync('name: [unclosed') }])
        expectFailed((await processUpload(env, gemInput(), badYaml)).artifact, /^the gemspec is not valid YAML/)
        const bomb = await buildTar([{ name: 'metadata.gz', content: gzipSync(Buffer.alloc(8 * 1024 * 1024, 'a')) }])
        expectFailed(
          (await processUpload(env, gemInput(), bomb)).artifact,
          /^the gemspec \(metadata.gz\) is larger than the 1 MiB limit$/,
        )
      })
    })

    describe('wheels', () => {
      it('stores METADATA for PEP 658', async () => {
        const { artifact, manifests } = await processUpload(
          env,
          wheelInput({ filesize: fx.wheel.length, checksum: checksum(fx.wheel, 'sha256', 'hex') }),
          fx.wheel,
        )
        expectUploaded(artifact, fx.wheel)
        expect(manifests).toHaveLength(1)
        expect(manifests[0]).toMatchObject({
          content_type: MANIFEST_TYPES.coreMetadata,
          content_path: 'demo_pkg-1.0.0-py3-none-any.whl.metadata',
          content: fx.wheelMetadata,
          content_digest: `sha256:${sha256(fx.wheelMetadata)}`,
        })
        expect(Number(manifests[0].content_length)).toBe(fx.wheelMetadata.length)
      })

      it('compares names PEP 503-normalised, only for pypi packages', async () => {
        expectUploaded((await processUpload(env, wheelInput({ packageKey: 'Demo_Pkg' }), fx.wheel)).artifact, fx.wheel)
        expectFailed(
          (await processUpload(env, wheelInput({ packageKey: 'other' }), fx.wheel)).artifact,
          /^package name mismatch: METADATA names demo-pkg, the package key is other$/,
        )
        const raw = await processUpload(env, wheelInput({ packageKey: 'other', engine: 'raw' }), fx.wheel)
        expectUploaded(raw.artifact, fx.wheel)
        expect(raw.manifests).toHaveLength(1)
        const none = await processUpload(env, wheelInput({ packageKey: null }), fx.wheel)
        expectUploaded(none.artifact, fx.wheel)
      })

      it('fails a corrupted or truncated wheel', async () => {
        const truncated = fx.wheel.subarray(0, fx.wheel.length - 10)
        expectFailed(
          (await processUpload(env, wheelInput(), truncated)).artifact,
          /^the wheel is not a valid zip archive/,
        )
        expectFailed(
          (
            await processUpload(
              env,
              wheelInput({ checksum: checksum(fx.wheel, 'sha1', 'base64url') }),
              corrupt(fx.wheel),
            )
          ).artifact,
          /^checksum mismatch: the declared sha1 \(base64(url)?\)/,
        )
        const noMetadata = await buildWheel({ name: 'demo-pkg', version: '1.0.0', metadata: 'x' })
        expectFailed((await processUpload(env, wheelInput(), noMetadata)).artifact, /METADATA has no Name/)
      })

      it('stops a zip bomb at the manifest limit, whether it declares its size or lies about it', async () => {
        const bomb = await buildWheel({ name: 'demo-pkg', version: '1.0.0', metadataPadding: 64 * 1024 * 1024 })
        expect(bomb.length).toBeLessThan(1024 * 1024)
        const honest = await processUpload(env, wheelInput(), bomb)
        expectFailed(honest.artifact, /^demo_pkg-1.0.0.dist-info\/METADATA is larger than the 1 MiB limit$/)
        const liar = lieAboutZipEntrySize(bomb, 'demo_pkg-1.0.0.dist-info/METADATA', 200)
        const lying = await processUpload(env, wheelInput(), liar)
        expectFailed(lying.artifact, /^demo_pkg-1.0.0.dist-info\/METADATA (is larger than the 1 MiB limit|is corrupt)/)
      })

      it('sdists just pass', async () => {
        const sdist = await buildTar([{ name: 'demo_pkg-1.0.0/PKG-INFO', content: fx.wheelMetadata }], { gzip: true })
        const { artifact, manifests } = await processUpload(
          env,
          wheelInput({ filename: 'demo_pkg-1.0.0.tar.gz', filetype: 'gz' }),
          sdist,
        )
        expectUploaded(artifact, sdist)
        expect(manifests).toEqual([])
      })
    })

    describe('oci', () => {
      const input = { engine: 'oci' as const, packageKey: 'demo/app', filename: 'image.tar', filetype: 'tar' }

      it('verifies an image layout tarball and leaves it PROCESSING for oci-ingest', async () => {
        const worker = createWorker({
          catalog: env.catalog,
          blobs: env.blobs,
          config: { ...FAST, handlers: [processUploadHandler()] },
          log: memoryLog(),
        })
        const seeded = await seedArtifact(env.catalog.db, {
          ...input,
          filesize: fx.oci.length,
          checksum: checksum(fx.oci, 'sha512', 'hex'),
        })
        await putUpload(env.blobs, seeded, fx.oci)
        await enqueueProcessUpload(env.catalog.db, { id: seeded.artifactId, account_id: seeded.accountId })
        await drain(worker)
        const artifact = await artifactOf(env.catalog, seeded.artifactId)
        expect(artifact).toMatchObject({ status: 'PROCESSING', status_reason: null, sha256: sha256(fx.oci) })
        expect(await manifestsOf(env.catalog, seeded.artifactId)).toEqual([])
        const jobs = await env.catalog.db
          .selectFrom('jobs')
          .select(['kind', 'status', 'payload'])
          .where('kind', '=', JOB_KINDS.ociIngest)
          .where('payload', '=', JSON.stringify({ artifactId: seeded.artifactId }))
          .execute()
        expect(jobs).toEqual([
          { kind: 'oci-ingest', status: 'queued', payload: JSON.stringify({ artifactId: seeded.artifactId }) },
        ])
      })

      it('ends UPLOADED with the image manifests once oci-ingest ran, FAILED on a bad checksum', async () => {
        const ok = await processUpload(
          env,
          { ...input, filesize: fx.oci.length, checksum: checksum(fx.oci, 'sha512', 'hex') },
          fx.oci,
        )
        expectUploaded(ok.artifact, fx.oci)
        expect(ok.manifests.map((m) => [m.content_type, m.content_path])).toEqual([
          ['application/vnd.oci.image.manifest.v1+json', expect.stringMatching(/^blobs\/sha256\/[0-9a-f]{64}$/)],
          [MANIFEST_TYPES.ociLayoutIndex, 'index.json'],
        ])
        const bad = await processUpload(env, { ...input, checksum: checksum(fx.oci, 'sha512', 'hex') }, corrupt(fx.oci))
        expectFailed(bad.artifact, /^checksum mismatch: the declared sha512 \(hex\)/)
      })
    })

    describe('checksums', () => {
      const body = Buffer.from('a raw artifact body\n'.repeat(100))
      const other = Buffer.from('something else entirely\n')
      const variants = [
        ...(['sha512', 'sha256', 'sha1'] as const).flatMap((a) =>
          (['hex', 'base64', 'base64raw', 'base64url', 'base64urlraw'] as const).map((e) => [a, e] as const),
        ),
        ['md5', 'hex'] as const,
        ['sha384', 'hex'] as const,
        ['sha224', 'hex'] as const,
        ['sha384', 'base64'] as const,
      ]
      it.each(variants)('%s in %s: match uploads, mismatch fails', async (algo, encoding) => {
        const input = { engine: 'raw' as const, packageKey: 'tool', filename: 'tool.bin', filetype: 'bin' }
        const good = await processUpload(env, { ...input, checksum: checksum(body, algo, encoding) }, body)
        expectUploaded(good.artifact, body)
        const bad = await processUpload(env, { ...input, checksum: checksum(other, algo, encoding) }, body)
        expectFailed(bad.artifact, new RegExp(`^checksum mismatch: the declared ${algo} \\(`))
      })

      it('accepts SRI and prefixed forms, uppercase hex and surrounding spaces', async () => {
        const input = { engine: 'raw' as const, packageKey: 'tool', filename: 'tool.bin', filetype: 'bin' }
        for (const c of [
          `sha512-${checksum(body, 'sha512', 'base64')}`,
          `sha256:${checksum(body, 'sha256', 'hex')}`,
          checksum(body, 'sha256', 'hex').toUpperCase(),
          `  ${checksum(body, 'sha1', 'hex')}\n`,
        ]) {
          expectUploaded((await processUpload(env, { ...input, checksum: c }, body)).artifact, body)
        }
      })

      it('fails an unrecognisable checksum with a reason', async () => {
        const input = { engine: 'raw' as const, packageKey: 'tool', filename: 'tool.bin', filetype: 'bin' }
        for (const c of ['not-a-checksum', 'abc123', checksum(body, 'sha256', 'hex').slice(2), 'sha256:zz']) {
          const { artifact } = await processUpload(env, { ...input, checksum: c }, body)
          expectFailed(artifact, /^unrecognised checksum: expected a SHA-512, SHA-256 or SHA-1 digest/)
        }
      })
    })

    describe('missing uploads and wait-for-upload', () => {
      it('process-upload retries a missing object, then fails the artifact "upload never arrived"', async () => {
        const seeded = await seedArtifact(env.catalog.db, npmInput())
        const { id } = await enqueueProcessUpload(env.catalog.db, {
          id: seeded.artifactId,
          account_id: seeded.accountId,
        })
        const w = env.worker()
        expect(await w.tick()).toBe(1)
        expect(await getJob(env.catalog.db, id)).toMatchObject({ status: 'queued', attempts: 1 })
        expect((await artifactOf(env.catalog, seeded.artifactId)).status).toBe('WAITING')
        await drain(w)
        expect(await getJob(env.catalog.db, id)).toMatchObject({
          status: 'failed',
          attempts: PROCESS_UPLOAD_MAX_ATTEMPTS,
        })
        expectFailed(await artifactOf(env.catalog, seeded.artifactId), new RegExp(`^${UPLOAD_NEVER_ARRIVED}$`))
      })

      it('process-upload succeeds when the object arrives between attempts', async () => {
        const seeded = await seedArtifact(env.catalog.db, npmInput())
        await enqueueProcessUpload(env.catalog.db, { id: seeded.artifactId, account_id: seeded.accountId })
        const w = env.worker()
        expect(await w.tick()).toBe(1)
        await putUpload(env.blobs, seeded, fx.npm)
        await drain(w)
        expectUploaded(await artifactOf(env.catalog, seeded.artifactId), fx.npm)
      })

      it('wait-for-upload reschedules while the object is absent, then processes it', async () => {
        const seeded = await seedArtifact(env.catalog.db, wheelInput())
        const { id } = await enqueueWaitForUpload(
          env.catalog.db,
          { id: seeded.artifactId, account_id: seeded.accountId },
          { runAt: new Date() },
        )
        const w = env.worker()
        const before = Date.now()
        expect(await w.tick()).toBe(1)
        const job = await getJob(env.catalog.db, id)
        expect(job).toMatchObject({ status: 'queued', attempts: 0 })
        // The first minute polls every 2 s.
        expect(Date.parse(job!.run_at) - before).toBeGreaterThanOrEqual(1900)
        expect(Date.parse(job!.run_at) - before).toBeLessThan(4000)
        expect((await artifactOf(env.catalog, seeded.artifactId)).status).toBe('WAITING')
        await putUpload(env.blobs, seeded, fx.wheel)
        await env.catalog.db
          .updateTable('jobs')
          .set({ run_at: new Date().toISOString() })
          .where('id', '=', id)
          .execute()
        expect(await w.tick()).toBe(1)
        expect(await getJob(env.catalog.db, id)).toMatchObject({ status: 'done' })
        expectUploaded(await artifactOf(env.catalog, seeded.artifactId), fx.wheel)
        expect(await manifestsOf(env.catalog, seeded.artifactId)).toHaveLength(1)
      })

      it('wait-for-upload slows down after a minute and gives up an hour after creation', async () => {
        const minutes = (n: number) => new Date(Date.now() - n * 60_000).toISOString()
        const slow = await seedArtifact(env.catalog.db, npmInput({ createdAt: minutes(5) }))
        const slowJob = await enqueueWaitForUpload(
          env.catalog.db,
          { id: slow.artifactId, account_id: slow.accountId },
          { runAt: new Date() },
        )
        const late = await seedArtifact(env.catalog.db, npmInput({ createdAt: minutes(61) }))
        await enqueueWaitForUpload(
          env.catalog.db,
          { id: late.artifactId, account_id: late.accountId },
          { runAt: new Date() },
        )
        const before = Date.now()
        await env.worker().tick()
        const run = Date.parse((await getJob(env.catalog.db, slowJob.id))!.run_at) - before
        expect(run).toBeGreaterThanOrEqual(29_000)
        expect(run).toBeLessThan(32_000)
        expectFailed(await artifactOf(env.catalog, late.artifactId), new RegExp(`^${UPLOAD_NEVER_ARRIVED}$`))
      })

      it('wait-for-upload leaves an artifact alone once it is no longer WAITING', async () => {
        const seeded = await seedArtifact(env.catalog.db, npmInput({ status: 'UPLOADED' }))
        const { id } = await enqueueWaitForUpload(
          env.catalog.db,
          { id: seeded.artifactId, account_id: seeded.accountId },
          { runAt: new Date() },
        )
        const revision = await getRevision(env.catalog.db, seeded.accountId)
        await drain(env.worker())
        expect(await getJob(env.catalog.db, id)).toMatchObject({ status: 'done' })
        expect(await getRevision(env.catalog.db, seeded.accountId)).toBe(revision)
      })
    })

    describe('idempotency and crashes', () => {
      it('running process-upload twice changes nothing the second time', async () => {
        const { seeded, manifests } = await processUpload(env, npmInput(), fx.npm)
        const artifact = await artifactOf(env.catalog, seeded.artifactId)
        const revision = await getRevision(env.catalog.db, seeded.accountId)
        const again = await enqueueProcessUpload(env.catalog.db, {
          id: seeded.artifactId,
          account_id: seeded.accountId,
        })
        expect(again.created).toBe(true) // the first job is done, so its dedupe key is free
        await drain(env.worker())
        expect(await artifactOf(env.catalog, seeded.artifactId)).toEqual(artifact)
        expect(await manifestsOf(env.catalog, seeded.artifactId)).toEqual(manifests)
        expect(await getRevision(env.catalog.db, seeded.accountId)).toBe(revision)
      })

      it('a job whose worker died mid-processing is reclaimed and completed exactly once', async () => {
        const seeded = await seedArtifact(env.catalog.db, npmInput({ filesize: fx.npm.length }))
        await putUpload(env.blobs, seeded, fx.npm)
        const { id } = await enqueueProcessUpload(env.catalog.db, {
          id: seeded.artifactId,
          account_id: seeded.accountId,
        })
        const [claimed] = await claimJobs(env.catalog, {
          workerId: 'dead',
          kinds: [JOB_KINDS.processUpload],
          leaseMs: 300,
        })
        expect(claimed.id).toBe(id)
        // It got as far as PROCESSING, then its process was killed.
        await env.catalog.db
          .updateTable('artifacts')
          .set({ status: 'PROCESSING' })
          .where('id', '=', seeded.artifactId)
          .execute()
        const w = env.worker()
        expect(await w.tick()).toBe(0)
        await sleep(350)
        expect(await w.tick()).toBe(1)
        expect(await getJob(env.catalog.db, id)).toMatchObject({ status: 'done', attempts: 2, locked_by: null })
        expectUploaded(await artifactOf(env.catalog, seeded.artifactId), fx.npm)
        expect(await manifestsOf(env.catalog, seeded.artifactId)).toHaveLength(1)
      })

      it('process-upload and wait-for-upload for one artifact, run together, process it once', async () => {
        const seeded = await seedArtifact(env.catalog.db, npmInput())
        await putUpload(env.blobs, seeded, fx.npm)
        const ref = { id: seeded.artifactId, account_id: seeded.accountId }
        const revision = await getRevision(env.catalog.db, seeded.accountId)
        await enqueueProcessUpload(env.catalog.db, ref)
        await enqueueWaitForUpload(env.catalog.db, ref, { runAt: new Date() })
        await drain(env.worker())
        expectUploaded(await artifactOf(env.catalog, seeded.artifactId), fx.npm)
        expect(await manifestsOf(env.catalog, seeded.artifactId)).toHaveLength(1)
        expect(await getRevision(env.catalog.db, seeded.accountId)).toBe(revision + 2)
      })

      it('two workers on two connections race for one job: exactly one runs it', async () => {
        const other = env.other!
        for (let round = 0; round < 3; round++) {
          const seeded: Seeded = await seedArtifact(env.catalog.db, npmInput())
          await putUpload(env.blobs, seeded, fx.npm)
          const { id } = await enqueueProcessUpload(env.catalog.db, {
            id: seeded.artifactId,
            account_id: seeded.accountId,
          })
          const revision = await getRevision(env.catalog.db, seeded.accountId)
          const w1 = env.worker()
          const w2 = createWorker({ catalog: other, blobs: env.blobs, config: FAST, log: memoryLog() })
          const [n1, n2] = await Promise.all([w1.tick(), w2.tick()])
          expect(n1 + n2).toBe(1)
          expect(await getJob(env.catalog.db, id)).toMatchObject({ status: 'done', attempts: 1 })
          expect(await manifestsOf(env.catalog, seeded.artifactId)).toHaveLength(1)
          expect(await getRevision(env.catalog.db, seeded.accountId)).toBe(revision + 2)
        }
      })
    })
  })
}

for (const kind of catalogKinds as CatalogKind[]) {
  uploadSuite(`upload processing on ${kind}`, async () => {
    const twins = await openTwins(kind)
    return { catalog: twins.a, other: twins.b, close: () => twins.close() }
  })
}

describe('upload processing against S3 (s3rver)', () => {
  let server: S3Server
  let blobs: S3Store
  let twins: Awaited<ReturnType<typeof openTwins>>
  beforeAll(async () => {
    server = await startS3rver()
    blobs = new S3Store({
      bucket: server.bucket,
      region: 'us-east-1',
      endpoint: server.endpoint,
      forcePathStyle: true,
      ...s3Credentials,
      prefix: '',
      presignTtl: 900,
      uploadTtl: 3600,
    })
    twins = await openTwins('sqlite')
  })
  afterAll(async () => {
    await twins?.close()
    await server?.close()
  })

  it('waits for a presigned upload, then reads the wheel METADATA with ranged reads', async () => {
    const seeded = await seedArtifact(twins.a.db, wheelInput({ checksum: checksum(fx.wheel, 'sha512', 'base64raw') }))
    const { id } = await enqueueWaitForUpload(
      twins.a.db,
      { id: seeded.artifactId, account_id: seeded.accountId },
      { runAt: new Date() },
    )
    const w = createWorker({
      catalog: twins.a,
      blobs,
      config: { ...FAST, wait: { fastIntervalMs: 10 } },
      log: memoryLog(),
    })
    expect(await w.tick()).toBe(1)
    expect((await artifactOf(twins.a, seeded.artifactId)).status).toBe('WAITING')
    await blobs.write(seeded.upload, fx.wheel, { size: fx.wheel.length })
    await sleep(20)
    expect(await w.tick()).toBe(1)
    expect(await getJob(twins.a.db, id)).toMatchObject({ status: 'done' })
    expectUploaded(await artifactOf(twins.a, seeded.artifactId), fx.wheel)
    const [m] = await manifestsOf(twins.a, seeded.artifactId)
    expect(m.content).toBe(fx.wheelMetadata)
  })

  it('processes an npm tarball streamed from S3', async () => {
    const npm = await seedArtifact(twins.a.db, npmInput({ filesize: fx.npm.length }))
    await blobs.write(npm.upload, fx.npm)
    await enqueueProcessUpload(twins.a.db, { id: npm.artifactId, account_id: npm.accountId })
    await drain(createWorker({ catalog: twins.a, blobs, config: FAST, log: memoryLog() }))
    expectUploaded(await artifactOf(twins.a, npm.artifactId), fx.npm)
    expect(await manifestsOf(twins.a, npm.artifactId)).toHaveLength(1)
    // Promoted with a server-side copy; nothing is left under uploads/.
    expect(Buffer.concat(await (await blobs.read(npm.key)).toArray()).equals(fx.npm)).toBe(true)
    const left: string[] = []
    for await (const key of blobs.list(`uploads/${npm.accountId}/`)) left.push(key)
    expect(left).toEqual([])
  })
})
