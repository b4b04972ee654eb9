import type { Executor } from '../../catalog/accounts.ts'
import type { ArtifactStatus, DistributionStrategy, ReleaseStatus } from '../../catalog/types.ts'
import { CORE_METADATA_TYPE } from './core-metadata.ts'
import { normalizeProjectName } from './normalize.ts'

/** A package whose engine is pypi, with what lookup and authorization need. */
export interface PypiPackage {
  id: string
  key: string
  /** PEP 503 normalized key. */
  normalized: string
  productId: string
  strategy: DistributionStrategy
}

/** One artifact of a project with its release facts, constraints and core metadata. */
export interface FileRow {
  artifactId: string
  filename: string
  artifactStatus: ArtifactStatus
  artifactCreatedAt: string
  size: number | null
  /** Worker-verified hex sha256, null until verified. */
  sha256: string | null
  /** Artifact metadata (JSON text), for a vendor-declared `requiresPython` on files without METADATA. */
  metadata: string
  releaseId: string
  version: string
  releaseStatus: ReleaseStatus
  releaseCreatedAt: string
  backdatedTo: string | null
  productId: string
  strategy: DistributionStrategy
  constraintIds: string[]
  /** The wheel's METADATA text stored by the upload worker, null for other files. */
  coreMetadata: string | null
}

/** listPypiPackages reads every pypi package of an account, oldest first (the first wins a name clash). */
export async function listPypiPackages(db: Executor, accountId: string): Promise<PypiPackage[]> {
  const rows = await db
    .selectFrom('packages')
    .innerJoin('products', 'products.id', 'packages.product_id')
    .select(['packages.id', 'packages.key', 'packages.product_id', 'products.distribution_strategy'])
    .where('packages.account_id', '=', accountId)
    .where('packages.engine', '=', 'pypi')
    .orderBy('packages.created_at')
    .orderBy('packages.id')
    .execute()
  return rows.map((r) => ({
    id: r.id,
    key: r.key,
    normalized: normalizeProjectName(r.key),
    productId: r.product_id,
    strategy: r.distribution_strategy,
  }))
}

/**
 * listFileRows reads a package's artifacts with their releases, products, constraints and core metadata in
 * one joined query; a release with several constraints yields several rows, merged here.
 */
export async function listFileRows(db: Executor, accountId: string, packageId: string): Promise<FileRow[]> {
  const rows = await db
    .selectFrom('artifacts as a')
    .innerJoin('releases as r', 'r.id', 'a.release_id')
    .innerJoin('products as p', 'p.id', 'r.product_id')
    .leftJoin('release_constraints as c', 'c.release_id', 'r.id')
    .leftJoin('manifests as m', (join) =>
      join.onRef('m.artifact_id', '=', 'a.id').on('m.content_type', '=', CORE_METADATA_TYPE),
    )
    .select([
      'a.id as artifactId',
      'a.filename',
      'a.status as artifactStatus',
      'a.created_at as artifactCreatedAt',
      'a.content_length',
      'a.filesize',
      'a.sha256',
      'a.metadata',
      'r.id as releaseId',
      'r.version',
      'r.status as releaseStatus',
      'r.created_at as releaseCreatedAt',
      'r.backdated_to as backdatedTo',
      'r.product_id as productId',
      'p.distribution_strategy as strategy',
      'c.entitlement_id as constraintId',
      'm.content as coreMetadata',
      'm.created_at as manifestCreatedAt',
    ])
    .where('a.account_id', '=', accountId)
    .where('r.package_id', '=', packageId)
    .execute()
  const byId = new Map<string, FileRow & { manifestCreatedAt: string | null }>()
  for (const { constraintId, content_length, filesize, manifestCreatedAt, ...r } of rows) {
    let row = byId.get(r.artifactId)
    if (!row) {
      row = { ...r, size: content_length ?? filesize, constraintIds: [], manifestCreatedAt: null, coreMetadata: null }
      byId.set(r.artifactId, row)
    }
    if (constraintId && !row.constraintIds.includes(constraintId)) row.constraintIds.push(constraintId)
    // A reprocessed wheel may have several METADATA manifests; the newest one wins.
    if (
      r.coreMetadata !== null &&
      (row.manifestCreatedAt === null || (manifestCreatedAt ?? '') > row.manifestCreatedAt)
    ) {
      row.coreMetadata = r.coreMetadata
      row.manifestCreatedAt = manifestCreatedAt
    }
  }
  return [...byId.values()].map(({ manifestCreatedAt: _, ...row }) => row)
}

/** packageOfArtifact finds the package id of an artifact of the account, or null. */
export async function packageOfArtifact(db: Executor, accountId: string, artifactId: string): Promise<string | null> {
  const row = await db
    .selectFrom('artifacts')
    .innerJoin('releases', 'releases.id', 'artifacts.release_id')
    .select('releases.package_id')
    .where('artifacts.id', '=', artifactId)
    .where('artifacts.account_id', '=', accountId)
    .executeTakeFirst()
  return row?.package_id ?? null
}
