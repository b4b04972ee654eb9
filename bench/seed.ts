/**
 * The catalog every bench run measures, written straight into a fresh catalog and blob store before the gateway
 * process starts (the gateway then only reads it): a LICENSED product `bench`, a policy that lets a license
 * authenticate with its key, one license, and in that product
 * - a package-less release 1.0.0 holding a 64 KiB `bench.bin` (Raw and /v1/artifacts cases);
 * - one PyPI project per page size (`bench-20`, `bench-500`, …) of that many published releases with one real wheel
 *   each, and its METADATA manifest;
 * - the npm packages `@bench/small` (20 versions) and `@bench/big` (300 versions whose package.json carries a
 *   6000-character readme: a ~2 MB packument), one real tarball per version and its package.json manifest;
 * - the gem `bench_gem` of 20 releases, seeded like the RubyGems tests do (gemspec and compact-index manifests);
 * - the OCI repository `app`: release 1.0.0 tagged `latest`, an image built with umoci into an OCI layout in the
 *   run's directory (docker-registry is seeded from the same layout) and ingested by the real upload workers;
 * - the Tauri package `bench-tauri`: releases 1.0.0 and 1.1.0, each with a signed `bench.AppImage.tar.gz` for
 *   linux/x86_64.
 * Every artifact is UPLOADED with its bytes in the store, its sha1, sha256, sha512 and size (gems: sha256 of
 * placeholder bytes, as the tests seed them), and the manifests the upload worker would have stored, so pages look
 * like real ones and redirects point at real objects. Draft releases wait for the cold cases to publish them
 * through the API.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { loadConfig } from '../config/load.ts'
import { MANIFEST_TYPES } from '../formats/manifest-types.ts'
import { NPM_MANIFEST_ENTRY } from '../formats/npm/package-json.ts'
import type { Executor } from '../gateway/catalog/accounts.ts'
import { bootstrap } from '../gateway/catalog/bootstrap.ts'
import { openCatalog } from '../gateway/catalog/db.ts'
import type { Account, PackageRow, ProductRow, ReleaseRow } from '../gateway/catalog/types.ts'
import type { BlobStore } from '../gateway/storage/blob-store.ts'
import { createBlobStore } from '../gateway/storage/index.ts'
import { artifactKey } from '../gateway/storage/keys.ts'
import { publishImage } from '../test/engines/oci/fixtures.ts'
import { seedGem } from '../test/engines/rubygems/fixtures.ts'
import { fakeSignature } from '../test/engines/tauri/updater-schema.ts'
import { buildTar } from '../test/helpers/fixtures.ts'
import { readBlob, readIndex, tarLayout, umociImage } from '../test/helpers/oci-image.ts'
import {
  type SeedArtifactInput,
  seedArtifact,
  seedLicense,
  seedManifest,
  seedPackage,
  seedPolicy,
  seedProduct,
  seedRelease,
} from '../test/helpers/seed.ts'
import { buildWheel } from '../test/helpers/wheel.ts'

/** What the cases need to know about the seeded catalog. */
export interface Seeded {
  productCode: string
  licenseKey: string
  /** The package-less release of the Raw and /v1/artifacts cases. */
  raw: { version: string; filename: string; artifactId: string }
  /** PyPI project name per page size, e.g. `{ 20: 'bench-20' }`. */
  projects: Record<number, string>
  /** npm package names: 20 versions, and 300 versions with a large readme each (~2 MB packument). */
  npm: { small: string; big: string }
  /** The gem of 20 releases. */
  gem: string
  /** The OCI repository, the tag it is pulled by, the layout it was built in, and its config and layer digests. */
  oci: { repository: string; tag: string; layout: string; config: string; layer: string }
  /** The Tauri package and the version the updater reports (1.1.0 is offered). */
  tauri: { package: string; current: string }
  /** Draft release ids the cold cases publish, per pool: a page size, or `raw` for package-less releases. */
  drafts: Record<string, string[]>
}

export interface SeedOptions {
  /** The gateway's environment (the same settings it will start with). */
  env: NodeJS.ProcessEnv
  /** A directory of the run for the OCI image layout (kept until the end of the run). */
  dir: string
  /** Release counts of the PyPI projects. */
  pageSizes: number[]
  /** Draft releases to leave for the cold cases, per pool (a page size, or `raw`). */
  drafts: Record<string, number>
}

/** The npm packages: name, version count and the length of the readme each package.json carries (0: none). */
const NPM = {
  small: { name: '@bench/small', versions: 20, readme: 0 },
  big: { name: '@bench/big', versions: 300, readme: 6000 },
} as const
const GEM = { name: 'bench_gem', releases: 20 }
const OCI = { repository: 'app', version: '1.0.0', tag: 'latest' }
const TAURI = { package: 'bench-tauri', versions: ['1.0.0', '1.1.0'], bundle: 'bench.AppImage.tar.gz' }

const sha1 = (b: Buffer | string) => createHash('sha1').update(b).digest('hex')
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')
const sha512 = (b: Buffer | string) => createHash('sha512').update(b).digest('hex')

interface Ctx {
  db: Executor
  blobs: BlobStore
  account: Account
  product: ProductRow
}

/** A manifest as the upload worker stores it for an artifact. */
interface ManifestDraft {
  contentType: string
  contentPath: string
  content: string
}

/**
 * putFile adds an UPLOADED artifact with its bytes in the store, their size and digests, and the manifest the upload
 * worker would have stored; artifact sets further attributes (filetype, platform, signature…).
 */
async function putFile(
  ctx: Ctx,
  releaseId: string,
  filename: string,
  bytes: Buffer,
  opts: { manifest?: ManifestDraft; artifact?: Partial<SeedArtifactInput> } = {},
) {
  await ctx.blobs.write(artifactKey(ctx.account.id, releaseId, filename), bytes, { size: bytes.length })
  const artifact = await seedArtifact(ctx.db, ctx.account, {
    ...opts.artifact,
    release: releaseId,
    filename,
    status: 'UPLOADED',
    filesize: bytes.length,
    sha1: sha1(bytes),
    sha256: sha256(bytes),
    sha512: sha512(bytes),
  })
  if (opts.manifest) await seedManifest(ctx.db, ctx.account, { artifact, ...opts.manifest })
  return artifact
}

/** addWheelRelease adds a release of a PyPI project with one wheel. */
/** publishedRelease adds a published release of a package. */
const publishedRelease = (ctx: Ctx, pkg: PackageRow, version: string) =>
  seedRelease(ctx.db, ctx.account, { product: ctx.product, package: pkg, version, status: 'PUBLISHED' })

async function addWheelRelease(ctx: Ctx, pkg: PackageRow, version: string, status: 'PUBLISHED' | 'DRAFT') {
  const release = await seedRelease(ctx.db, ctx.account, { product: ctx.product, package: pkg, version, status })
  const wheel = buildWheel({ name: pkg.key, version, requiresPython: '>=3.8' })
  const [distribution, distVersion] = wheel.filename.split('-')
  await putFile(ctx, release.id, wheel.filename, wheel.bytes, {
    manifest: {
      contentType: MANIFEST_TYPES.coreMetadata,
      contentPath: `${distribution}-${distVersion}.dist-info/METADATA`,
      content: wheel.metadata,
    },
  })
  return release.id
}

/** addRawRelease adds a package-less release holding `bench.bin`. */
async function addRawRelease(ctx: Ctx, version: string, status: 'PUBLISHED' | 'DRAFT') {
  const release = await seedRelease(ctx.db, ctx.account, { product: ctx.product, version, status })
  const artifact = await putFile(ctx, release.id, 'bench.bin', randomBytes(64 * 1024))
  return { releaseId: release.id, artifactId: artifact.id }
}

/** packageJson is a realistic package.json (as `npm pack` writes it: two-space indent, final newline). */
function packageJson(name: string, version: string, readme: number): string {
  const manifest = {
    name,
    version,
    description:
      `Bench fixture ${name}: a small utility library with a handful of dependencies, published as one of many ` +
      'versions so that the packument looks like a real one when a client installs or updates it.',
    keywords: ['bench', 'fixture', 'utility'],
    author: 'Bench Fixtures <bench@example.com>',
    main: 'index.js',
    types: 'index.d.ts',
    license: 'MIT',
    repository: { type: 'git', url: 'git+https://example.com/bench/bench.git' },
    engines: { node: '>=18' },
    dependencies: { debug: '^4.3.4', 'lru-cache': '^10.2.0', semver: '^7.6.0' },
    ...(readme > 0 ? { readme: 'r'.repeat(readme) } : {}),
  }
  return `${JSON.stringify(manifest, null, 2)}\n`
}

/** addNpmPackage adds an npm package of `versions` published releases, one tarball and its package.json each. */
async function addNpmPackage(ctx: Ctx, spec: (typeof NPM)[keyof typeof NPM]) {
  const pkg = await seedPackage(ctx.db, ctx.account, { product: ctx.product, key: spec.name, engine: 'npm' })
  const base = spec.name.split('/').pop()
  for (let i = 0; i < spec.versions; i++) {
    const version = `1.${i}.0`
    const release = await publishedRelease(ctx, pkg, version)
    const text = packageJson(spec.name, version, spec.readme)
    const tarball = await buildTar(
      [
        { name: NPM_MANIFEST_ENTRY, content: text },
        { name: 'package/index.js', content: `module.exports = () => '${spec.name} ${version}'\n` },
      ],
      { gzip: true },
    )
    await putFile(ctx, release.id, `${base}-${version}.tgz`, tarball, {
      manifest: { contentType: MANIFEST_TYPES.npmPackage, contentPath: NPM_MANIFEST_ENTRY, content: text },
    })
  }
}

/** addGem adds a gem of published releases, seeded like the RubyGems tests (seedGem), its bytes placeholders. */
async function addGem(ctx: Ctx) {
  const pkg = await seedPackage(ctx.db, ctx.account, { product: ctx.product, key: GEM.name, engine: 'rubygems' })
  for (let i = 0; i < GEM.releases; i++) {
    const version = `1.${i}.0`
    const release = await publishedRelease(ctx, pkg, version)
    const filename = `${GEM.name}-${version}.gem`
    const bytes = randomBytes(8 * 1024)
    await ctx.blobs.write(artifactKey(ctx.account.id, release.id, filename), bytes, { size: bytes.length })
    await seedGem(ctx.db, ctx.account, {
      release,
      filename,
      sha256: sha256(bytes),
      createdAt: new Date(Date.UTC(2024, 0, 1 + i)).toISOString(),
      spec: {
        name: GEM.name,
        version,
        dependencies: {
          rack: ['runtime', ['>= 2.2', '< 4']],
          'concurrent-ruby': ['runtime', ['~> 1.2']],
          rspec: ['development', ['~> 3.12']],
        },
        requiredRubyVersion: ['>= 3.0'],
      },
    })
  }
}

/** addTauriPackage adds the Tauri package: every release has a signed linux/x86_64 update bundle. */
async function addTauriPackage(ctx: Ctx) {
  const pkg = await seedPackage(ctx.db, ctx.account, { product: ctx.product, key: TAURI.package, engine: 'tauri' })
  for (const version of TAURI.versions) {
    const release = await seedRelease(ctx.db, ctx.account, {
      product: ctx.product,
      package: pkg,
      version,
      status: 'PUBLISHED',
      description: `Bench ${version}: bug fixes and performance improvements.`,
    })
    await putFile(ctx, release.id, TAURI.bundle, randomBytes(64 * 1024), {
      artifact: { filetype: 'gz', platform: 'linux', arch: 'x86_64', signature: fakeSignature(TAURI.bundle) },
    })
  }
}

/** buildImage builds a one-layer image with umoci as `<dir>/oci/layout:<tag>` and tars the layout. */
async function buildImage(dir: string) {
  const root = join(dir, 'oci')
  await mkdir(root, { recursive: true })
  const layout = join(root, 'layout')
  await umociImage(layout, OCI.tag)
  const tar = await tarLayout(layout, join(root, 'image.tar'))
  const [top] = (await readIndex(layout)).manifests
  const manifest = JSON.parse((await readBlob(layout, top.digest)).toString('utf8')) as {
    config: { digest: string }
    layers: Array<{ digest: string }>
  }
  return { layout, tar, config: manifest.config.digest, layer: manifest.layers[0].digest }
}

/** seedBench writes the bench catalog (see the module comment) and returns what the cases address. */
export async function seedBench(opts: SeedOptions): Promise<Seeded> {
  const config = loadConfig({ env: opts.env })
  const catalog = await openCatalog(config.databaseUrl)
  try {
    await catalog.migrate()
    const { account } = await bootstrap(catalog, config.bootstrapAdminToken)
    const blobs = await createBlobStore(config, config.signingSecret!)
    const image = await buildImage(opts.dir)
    const { seeded, ociRelease } = await catalog.db.transaction().execute(async (db) => {
      const product = await seedProduct(db, account, { code: 'bench', name: 'Bench', strategy: 'LICENSED' })
      const ctx: Ctx = { db, blobs, account, product }
      const policy = await seedPolicy(db, account, { product, authenticationStrategy: 'LICENSE' })
      const license = await seedLicense(db, account, { policy })
      const raw = await addRawRelease(ctx, '1.0.0', 'PUBLISHED')
      const drafts: Record<string, string[]> = { raw: [] }
      for (let i = 0; i < (opts.drafts.raw ?? 0); i++)
        drafts.raw.push((await addRawRelease(ctx, `9.0.${i}`, 'DRAFT')).releaseId)
      const projects: Record<number, string> = {}
      for (const size of opts.pageSizes) {
        const key = `bench-${size}`
        const pkg = await seedPackage(db, account, { product, key, name: key, engine: 'pypi' })
        for (let i = 0; i < size; i++) await addWheelRelease(ctx, pkg, `1.${i}.0`, 'PUBLISHED')
        drafts[size] = []
        for (let i = 0; i < (opts.drafts[size] ?? 0); i++)
          drafts[size].push(await addWheelRelease(ctx, pkg, `2.0.${i}`, 'DRAFT'))
        projects[size] = key
      }
      await addNpmPackage(ctx, NPM.small)
      await addNpmPackage(ctx, NPM.big)
      await addGem(ctx)
      await addTauriPackage(ctx)
      const app = await seedPackage(db, account, { product, key: OCI.repository, engine: 'oci' })
      const ociRelease: ReleaseRow = await seedRelease(db, account, {
        product,
        package: app,
        version: OCI.version,
        tag: OCI.tag,
        status: 'PUBLISHED',
      })
      const seeded: Seeded = {
        productCode: 'bench',
        licenseKey: license.key,
        raw: { version: '1.0.0', filename: 'bench.bin', artifactId: raw.artifactId },
        projects,
        npm: { small: NPM.small.name, big: NPM.big.name },
        gem: GEM.name,
        oci: {
          repository: OCI.repository,
          tag: OCI.tag,
          layout: image.layout,
          config: image.config,
          layer: image.layer,
        },
        tauri: { package: TAURI.package, current: TAURI.versions[0] },
        drafts,
      }
      return { seeded, ociRelease }
    })
    // The upload workers ingest the image as they would after an upload (process-upload, then oci-ingest).
    await publishImage({ catalog, blobs, account }, ociRelease, image.tar)
    return seeded
  } finally {
    await catalog.close()
  }
}
