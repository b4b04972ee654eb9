/**
 * The catalog every bench run measures, written straight into a fresh catalog and blob store before the gateway
 * process starts (the gateway then only reads it): a LICENSED product `bench`, a policy that lets a license
 * authenticate with its key, one license, a package-less release 1.0.0 holding a 64 KiB `bench.bin` (Raw and
 * /v1/artifacts cases), and one PyPI project per page size (`bench-20`, `bench-500`, …) of that many published
 * releases with one real wheel each. Every artifact is UPLOADED with its bytes in the store, its sha256 and size,
 * and (wheels) the METADATA manifest the upload worker would have stored, so pages look like real ones and
 * redirects point at real objects. Draft releases wait for the cold cases to publish them through the API.
 */
import { createHash, randomBytes } from 'node:crypto'
import { loadConfig } from '../config/load.ts'
import type { Executor } from '../gateway/catalog/accounts.ts'
import { bootstrap } from '../gateway/catalog/bootstrap.ts'
import { openCatalog } from '../gateway/catalog/db.ts'
import { CORE_METADATA_TYPE } from '../formats/python/core-metadata.ts'
import type { Account, PackageRow, ProductRow } from '../gateway/catalog/types.ts'
import type { BlobStore } from '../gateway/storage/blob-store.ts'
import { createBlobStore } from '../gateway/storage/index.ts'
import { artifactKey } from '../gateway/storage/keys.ts'
import {
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
  /** Draft release ids the cold cases publish, per pool: a page size, or `raw` for package-less releases. */
  drafts: Record<string, string[]>
}

export interface SeedOptions {
  /** The gateway's environment (the same settings it will start with). */
  env: NodeJS.ProcessEnv
  /** Release counts of the PyPI projects. */
  pageSizes: number[]
  /** Draft releases to leave for the cold cases, per pool (a page size, or `raw`). */
  drafts: Record<string, number>
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')

interface Ctx {
  db: Executor
  blobs: BlobStore
  account: Account
  product: ProductRow
}

/** putFile adds an UPLOADED artifact with its bytes in the store (and a core metadata manifest, for wheels). */
async function putFile(ctx: Ctx, releaseId: string, filename: string, bytes: Buffer, metadata?: string) {
  await ctx.blobs.write(artifactKey(ctx.account.id, releaseId, filename), bytes, { size: bytes.length })
  const artifact = await seedArtifact(ctx.db, ctx.account, {
    release: releaseId,
    filename,
    status: 'UPLOADED',
    filesize: bytes.length,
    sha256: sha256(bytes),
  })
  if (metadata === undefined) return artifact
  await seedManifest(ctx.db, ctx.account, {
    artifact,
    contentType: CORE_METADATA_TYPE,
    contentPath: `${filename.split('-')[0]}-${filename.split('-')[1]}.dist-info/METADATA`,
    content: metadata,
  })
  return artifact
}

/** addWheelRelease adds a release of a PyPI project with one wheel. */
async function addWheelRelease(ctx: Ctx, pkg: PackageRow, version: string, status: 'PUBLISHED' | 'DRAFT') {
  const release = await seedRelease(ctx.db, ctx.account, { product: ctx.product, package: pkg, version, status })
  const wheel = buildWheel({ name: pkg.key, version, requiresPython: '>=3.8' })
  await putFile(ctx, release.id, wheel.filename, wheel.bytes, wheel.metadata)
  return release.id
}

/** addRawRelease adds a package-less release holding `bench.bin`. */
async function addRawRelease(ctx: Ctx, version: string, status: 'PUBLISHED' | 'DRAFT') {
  const release = await seedRelease(ctx.db, ctx.account, { product: ctx.product, version, status })
  const artifact = await putFile(ctx, release.id, 'bench.bin', randomBytes(64 * 1024))
  return { releaseId: release.id, artifactId: artifact.id }
}

/** seedBench writes the bench catalog (see the module comment) and returns what the cases address. */
export async function seedBench(opts: SeedOptions): Promise<Seeded> {
  const config = loadConfig({ env: opts.env })
  const catalog = await openCatalog(config.databaseUrl)
  try {
    await catalog.migrate()
    const { account } = await bootstrap(catalog, config.bootstrapAdminToken)
    const blobs = await createBlobStore(config, config.signingSecret!)
    return await catalog.db.transaction().execute(async (db) => {
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
      return {
        productCode: 'bench',
        licenseKey: license.key,
        raw: { version: '1.0.0', filename: 'bench.bin', artifactId: raw.artifactId },
        projects,
        drafts,
      }
    })
  } finally {
    await catalog.close()
  }
}
