import { createHash } from 'node:crypto'
import { nextExpiry, packageScopeOf, releaseScopeOf } from '../auth/policy.ts'
import type { LicenseContext, Principal } from '../auth/principal.ts'

/** Class names memoized per license set (the cached facts' own objects), with the instant they stop holding. */
const classes = new WeakMap<object, { name: string; until: number }>()

/**
 * visibilityClass names everything about a principal that decides what it can see: its release scope (grants
 * with entitlements and expiry windows, evaluated at `now`) and its package scope. Principals of one class see
 * byte-identical metadata, so they share cache entries: every anonymous caller, every staff member, and every
 * license of a product with the same entitlements. The class is `anonymous`, `staff`, `product:<id>` or
 * `<license|user>:<digest of the scopes>`.
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
      const licenses: readonly LicenseContext[] = p.kind === 'license' ? [p.license] : p.licenses
      const memoKey = p.kind === 'license' ? p.license : p.licenses
      const hit = classes.get(memoKey)
      if (hit && now < hit.until) return hit.name
      const name = `${p.kind}:${scopeDigest(p, now)}`
      // The class holds until a license expires: its scope may change right after.
      const expiry = nextExpiry(
        licenses.map((l) => l.expiry),
        now,
      )
      classes.set(memoKey, { name, until: expiry + 1 })
      return name
    }
  }
}

function scopeDigest(p: Principal, now: number): string {
  const release = releaseScopeOf(p, now)
  const grants = release.kind === 'customer' ? release.grants : []
  const canonical = grants.map((g) => JSON.stringify([g.productId, [...g.entitlementIds].sort(), g.notAfter])).sort()
  const pkg = packageScopeOf(p)
  const products = pkg.kind === 'customer' ? [...pkg.licensedProductIds].sort() : []
  return createHash('sha256')
    .update(JSON.stringify([canonical, products]))
    .digest('hex')
    .slice(0, 32)
}
