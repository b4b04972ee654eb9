import { CORE_METADATA_TYPE } from '../../../formats/python/core-metadata.ts'
import { normalizeProjectName } from '../../../formats/python/normalize.ts'
import type { ArtifactStatus, DistributionStrategy, ReleaseStatus } from '../../catalog/types.ts'
import type { AccountSnapshot } from '../../read-model/account-snapshot.ts'
import type { ReadModel } from '../../read-model/read-model.ts'

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
  constraintIds: readonly string[]
  /** The wheel's METADATA text stored by the upload worker, null for other files. */
  coreMetadata: string | null
}

/** pypiPackages lists the account's pypi packages, oldest first (the first wins a name clash). */
export function pypiPackages(snap: AccountSnapshot): PypiPackage[] {
  return snap.memo('pypi:packages', () =>
    snap.packages
      .filter((p) => p.engine === 'pypi')
      .map((p) => ({
        id: p.id,
        key: p.key,
        normalized: normalizeProjectName(p.key),
        productId: p.product_id,
        strategy: snap.productsById.get(p.product_id)?.distribution_strategy ?? 'CLOSED',
      })),
  )
}

/**
 * fileRows lists a package's artifacts with their release facts and the newest METADATA the worker stored,
 * once per snapshot (the manifests are read on first use, then kept with the snapshot).
 */
export function fileRows(model: ReadModel, snap: AccountSnapshot, pkg: PypiPackage): Promise<FileRow[]> {
  return snap.memo(`pypi:rows:${pkg.id}`, async () => {
    const releases = snap.releases.filter((r) => r.row.package_id === pkg.id)
    const artifacts = releases.flatMap((release) =>
      (snap.artifactsByRelease.get(release.row.id) ?? []).map((row) => ({ row, release })),
    )
    const ids = artifacts.map((a) => a.row.id)
    const manifests = await model.manifests(snap, `pypi:${pkg.id}`, ids, CORE_METADATA_TYPE)
    return artifacts.map(({ row, release }) => ({
      artifactId: row.id,
      filename: row.filename,
      artifactStatus: row.status,
      artifactCreatedAt: row.created_at,
      size: row.content_length ?? row.filesize,
      sha256: row.sha256,
      metadata: row.metadata,
      releaseId: release.row.id,
      version: release.row.version,
      releaseStatus: release.row.status,
      releaseCreatedAt: release.row.created_at,
      backdatedTo: release.row.backdated_to,
      productId: release.facts.productId,
      strategy: release.facts.strategy,
      constraintIds: release.facts.constraintIds,
      // A reprocessed wheel may have several METADATA manifests (oldest first); the newest one wins.
      coreMetadata: manifests.get(row.id)?.at(-1)?.content ?? null,
    }))
  })
}

/** packageOfArtifact finds the package id of an artifact of the account, or null. */
export function packageOfArtifact(snap: AccountSnapshot, artifactId: string): string | null {
  const artifact = snap.artifactsById.get(artifactId)
  return (artifact && snap.releasesById.get(artifact.release_id)?.row.package_id) ?? null
}
