import { artifactInScope, canShowPackage, type PackageFacts, type ReleaseFacts } from '../../auth/policy.ts'
import type { Principal } from '../../auth/principal.ts'
import type { ArtifactStatus } from '../../catalog/types.ts'
import type { FileRow, PypiPackage } from './projects.ts'

const packageFacts = (pkg: PypiPackage): PackageFacts => ({ productId: pkg.productId, strategy: pkg.strategy })

export function releaseFacts(row: FileRow): ReleaseFacts {
  return {
    productId: row.productId,
    strategy: row.strategy,
    status: row.releaseStatus,
    constraintIds: row.constraintIds,
    createdAt: row.releaseCreatedAt,
    backdatedTo: row.backdatedTo,
  }
}

/**
 * Files a simple page lists at all: stored bytes only. A WAITING, PROCESSING or FAILED artifact has nothing
 * pip could download, so even staff do not see it; YANKED ones are listed (to staff) marked as yanked.
 * see: ../shared/spec/engines.md §5 item 19 (Keygen shows staff every status; pkgway does not)
 */
const LISTABLE: ReadonlySet<ArtifactStatus> = new Set(['UPLOADED', 'YANKED'])

/** visibleFiles keeps the rows the principal may see, by the artifact scope of auth/policy.ts. */
export function visibleFiles(p: Principal, rows: readonly FileRow[], now: number = Date.now()): FileRow[] {
  return rows.filter(
    (r) => LISTABLE.has(r.artifactStatus) && artifactInScope(p, releaseFacts(r), { status: r.artifactStatus }, now),
  )
}

/** canShow applies the package show rule (401/403 when denied). */
export function canShow(p: Principal, pkg: PypiPackage): boolean {
  return canShowPackage(p, packageFacts(pkg)).allow
}
