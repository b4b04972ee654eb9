import { createHash } from 'node:crypto'
import {
  artifactInScope,
  canShowPackage,
  type PackageFacts,
  packageScopeOf,
  type ReleaseFacts,
  releaseScopeOf,
} from '../../auth/policy.ts'
import type { Principal } from '../../auth/principal.ts'
import type { ArtifactStatus } from '../../catalog/types.ts'
import type { FileRow, PypiPackage } from './queries.ts'

/**
 * visibilityClass names everything about a principal that decides what a simple page shows: its release scope
 * (grants with entitlements and expiry windows, evaluated at `now`) and its package scope. Principals with the
 * same class see byte-identical pages, so they share cache entries: every anonymous caller, every staff
 * member, and every license of a product with the same entitlements. The class is
 * `anonymous`, `staff`, `product:<id>` or `<license|user>:<digest of the scopes>`.
 */
export function visibilityClass(p: Principal, now: number = Date.now()): string {
  switch (p.kind) {
    case 'anonymous':
      return 'anonymous'
    case 'staff':
      return 'staff'
    case 'product':
      return `product:${p.productId}`
    case 'license':
    case 'user': {
      const release = releaseScopeOf(p, now)
      const grants = release.kind === 'customer' ? release.grants : []
      const canonical = grants
        .map((g) => JSON.stringify([g.productId, [...g.entitlementIds].sort(), g.notAfter]))
        .sort()
      const pkg = packageScopeOf(p)
      const products = pkg.kind === 'customer' ? [...pkg.licensedProductIds].sort() : []
      const digest = createHash('sha256')
        .update(JSON.stringify([canonical, products]))
        .digest('hex')
        .slice(0, 32)
      return `${p.kind}:${digest}`
    }
  }
}

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
