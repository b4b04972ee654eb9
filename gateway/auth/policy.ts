import type { ArtifactStatus, DistributionStrategy, ReleaseStatus } from '../catalog/types.ts'
import type { LicenseContext, Principal, StaffRole } from './principal.ts'

/**
 * Authorization for releases, artifacts and packages: pure functions of a {@link Principal} and the facts of a
 * record, no I/O (management-api.md §4, engines.md §1.4). Two layers run on every request:
 *
 * - **Layer A, the scope** ({@link releaseInScope}, {@link artifactInScope}, {@link packageInScope}): what a list
 *   shows and what an `:id` can resolve to. A record outside the scope is a 404. {@link releaseScopeOf} and
 *   {@link packageScopeOf} describe the same scopes as data, for building SQL filters.
 * - **Layer B, the show rule** ({@link canShowRelease}, {@link canShowPackage}): applied to a record that is in
 *   scope; a denial is a 403 carrying Keygen's reason (`forbidden(reason)` renders
 *   "You do not have permission to complete the request (<reason>)").
 *
 * {@link checkReleaseAccess} and {@link checkArtifactAccess} run both layers in order. Write access
 * (create/update/delete/publish/yank/upload) is {@link canManageProduct}.
 *
 * Time-dependent rules take `now` (epoch ms, default `Date.now()`) so that tests are deterministic.
 */

/** What the policy needs to know about a release. Timestamps are ISO 8601. */
export interface ReleaseFacts {
  productId: string
  /** The release's product distribution strategy. */
  strategy: DistributionStrategy
  status: ReleaseStatus
  /** Entitlement ids of the release's constraints. */
  constraintIds: readonly string[]
  createdAt: string
  backdatedTo: string | null
}

export interface ArtifactFacts {
  status: ArtifactStatus
}

export interface PackageFacts {
  productId: string
  /** The package's product distribution strategy. */
  strategy: DistributionStrategy
}

export type Decision = { allow: true } | { allow: false; reason: string }

/** Denial reasons, worded as Keygen words them. */
export const REASONS = {
  authenticationRequired: 'authentication is required',
  closed: 'release distribution strategy is closed',
  suspended: 'license is suspended',
  banned: 'license is banned',
  expired: 'license is expired',
  outsideWindow: 'license expiry falls outside of access window',
  missingEntitlements: 'license is missing entitlements',
  /** Keygen's detail for a denial without a specific reason, when a bearer is present. */
  notAllowed: 'ensure the token bearer is allowed to access this resource',
} as const

const ALLOW: Decision = { allow: true }
const deny = (reason: string): Decision => ({ allow: false, reason })

// ---------------------------------------------------------------------------------------------------------------
// Roles

/** canReadAll: staff of every role (admin, developer, sales, support, read-only) read everything, any status. */
export function canReadAll(p: Principal): boolean {
  return p.kind === 'staff'
}

const MANAGER_ROLES: ReadonlySet<StaffRole> = new Set(['admin', 'developer'])
const TTL_ROLES: ReadonlySet<StaffRole> = new Set(['admin', 'developer', 'sales-agent', 'support-agent'])

/**
 * canManageProduct: create/update/delete/publish/yank/upload of releases, artifacts, packages and constraints of
 * a product. Allowed for admin and developer staff and for the product's own token; never for sales, support,
 * read-only, licenses, users or anonymous callers.
 */
export function canManageProduct(p: Principal, productId: string): boolean {
  if (p.kind === 'staff') return MANAGER_ROLES.has(p.role)
  return p.kind === 'product' && p.productId === productId
}

/**
 * seesUnpublished: the bearer sees a product's DRAFT and YANKED releases and artifacts of every status (staff,
 * and the product's own token).
 */
export function seesUnpublished(p: Principal, productId: string): boolean {
  return canReadAll(p) || (p.kind === 'product' && p.productId === productId)
}

/**
 * canChooseDownloadTtl: `?ttl=` on artifact downloads is honoured for admin, developer, sales, support and
 * product bearers; for read-only, licenses, users and anonymous callers it is silently ignored.
 */
export function canChooseDownloadTtl(p: Principal): boolean {
  return (p.kind === 'staff' && TTL_ROLES.has(p.role)) || p.kind === 'product'
}

// ---------------------------------------------------------------------------------------------------------------
// Licenses

/** licenseExpired: the license has an expiry strictly before `now`. */
export function licenseExpired(l: Pick<LicenseContext, 'expiry'>, now: number = Date.now()): boolean {
  return l.expiry !== null && instant(l.expiry) < now
}

/**
 * nextExpiry is the first of the expiries (ISO 8601, or null for none) that has not passed at `now`, in epoch ms;
 * Infinity when none lies ahead. Until then, every expiry rule judges as it does at `now`.
 */
export function nextExpiry(expiries: Iterable<string | null>, now: number): number {
  let at = Number.POSITIVE_INFINITY
  for (const iso of expiries) {
    if (iso === null) continue
    const t = instant(iso)
    if (t >= now && t < at) at = t
  }
  return at
}

/** REVOKE_ACCESS cuts everything once expired. */
const revokes = (l: LicenseContext) => l.expirationStrategy === 'REVOKE_ACCESS'

/** The licenses a principal reaches a product through (its own license, or any license of a user). */
export function licensesOf(p: Principal): readonly LicenseContext[] {
  if (p.kind === 'license') return [p.license]
  if (p.kind === 'user') return p.licenses
  return []
}

/** entitled: the license holds every entitlement the release is constrained by (ALL semantics). */
export function entitled(l: LicenseContext, constraintIds: readonly string[]): boolean {
  return constraintIds.every((id) => l.entitlementIds.has(id))
}

/**
 * verifyLicenseForRelease is Keygen's `verify_license_for_release!`, denying in this order: suspended; banned;
 * REVOKE_ACCESS and expired; the license expires, the strategy is not ALLOW_ACCESS and the release's
 * `backdated_to` (else `created_at`) is after the expiry; a constrained entitlement is missing.
 */
export function verifyLicenseForRelease(l: LicenseContext, r: ReleaseFacts, now: number = Date.now()): Decision {
  if (l.suspended) return deny(REASONS.suspended)
  if (l.banned) return deny(REASONS.banned)
  if (revokes(l) && licenseExpired(l, now)) return deny(REASONS.expired)
  if (l.expiry !== null && l.expirationStrategy !== 'ALLOW_ACCESS') {
    if (instant(r.backdatedTo ?? r.createdAt) > instant(l.expiry)) return deny(REASONS.outsideWindow)
  }
  if (!entitled(l, r.constraintIds)) return deny(REASONS.missingEntitlements)
  return ALLOW
}

// ---------------------------------------------------------------------------------------------------------------
// Layer A: scopes as data

/** One license's contribution to a customer's release scope. */
export interface ReleaseGrant {
  productId: string
  /** The license's entitlements: a release qualifies when its constraints are a subset. */
  entitlementIds: readonly string[]
  /**
   * The expiry window: releases created, or backdated, at or before this instant. Null means no window
   * (no expiry, ALLOW_ACCESS, or REVOKE_ACCESS not yet expired).
   */
  notAfter: string | null
}

/**
 * The release scope of a principal:
 * - `all`: every release of the account, any status (staff);
 * - `product`: every release of that product, any status (product token);
 * - `customer`: PUBLISHED releases that are either of an OPEN product with no constraints, or match one of the
 *   grants (grant product, product not CLOSED, constraints ⊆ grant entitlements, within the window). Licenses,
 *   users (one grant per license) and anonymous callers (no grants). Artifacts additionally need UPLOADED.
 */
export type ReleaseScope =
  | { kind: 'all' }
  | { kind: 'product'; productId: string }
  | { kind: 'customer'; grants: readonly ReleaseGrant[] }

/**
 * releaseScopeOf describes the release scope of a principal. The expiry window (`within_expiry_for`): no
 * expiry → everything; REVOKE_ACCESS → everything if not expired, nothing (no grant) if expired;
 * RESTRICT_ACCESS / MAINTAIN_ACCESS → `created ≤ expiry` or `backdated ≤ expiry`; ALLOW_ACCESS → everything.
 * Suspension and bans are not part of the scope; the show rule enforces them.
 */
export function releaseScopeOf(p: Principal, now: number = Date.now()): ReleaseScope {
  switch (p.kind) {
    case 'staff':
      return { kind: 'all' }
    case 'product':
      return { kind: 'product', productId: p.productId }
    case 'anonymous':
      return { kind: 'customer', grants: [] }
    case 'license':
    case 'user': {
      const grants: ReleaseGrant[] = []
      for (const l of licensesOf(p)) {
        if (revokes(l) && licenseExpired(l, now)) continue
        const windowed =
          l.expiry !== null &&
          (l.expirationStrategy === 'RESTRICT_ACCESS' || l.expirationStrategy === 'MAINTAIN_ACCESS')
        grants.push({
          productId: l.productId,
          entitlementIds: [...l.entitlementIds],
          notAfter: windowed ? l.expiry : null,
        })
      }
      return { kind: 'customer', grants }
    }
  }
}

/** releaseMatchesScope applies a {@link ReleaseScope} to one release. */
export function releaseMatchesScope(scope: ReleaseScope, r: ReleaseFacts): boolean {
  switch (scope.kind) {
    case 'all':
      return true
    case 'product':
      return r.productId === scope.productId
    case 'customer':
      if (r.status !== 'PUBLISHED') return false
      return isOpenUnconstrained(r) || scope.grants.some((g) => grantAdmits(g, r))
  }
}

function grantAdmits(g: ReleaseGrant, r: ReleaseFacts): boolean {
  if (g.productId !== r.productId || r.strategy === 'CLOSED') return false
  if (!r.constraintIds.every((id) => g.entitlementIds.includes(id))) return false
  if (g.notAfter === null) return true
  const limit = instant(g.notAfter)
  return instant(r.createdAt) <= limit || (r.backdatedTo !== null && instant(r.backdatedTo) <= limit)
}

/** isOpenUnconstrained: the release's product is OPEN and the release has no entitlement constraints. */
export function isOpenUnconstrained(r: Pick<ReleaseFacts, 'strategy' | 'constraintIds'>): boolean {
  return r.strategy === 'OPEN' && r.constraintIds.length === 0
}

/**
 * releaseInScope (layer A): whether the principal may see the release at all; outside it is a 404.
 * - staff: every release, any status;
 * - product: its own product's releases, any status (DRAFT and YANKED included);
 * - license: PUBLISHED releases of its product (LICENSED or OPEN) whose constraints it holds, within its expiry
 *   window, plus PUBLISHED unconstrained releases of any OPEN product;
 * - user: the union of the license rule over each of its licenses, plus OPEN unconstrained, PUBLISHED only;
 * - anonymous: PUBLISHED releases of OPEN products without constraints.
 */
export function releaseInScope(p: Principal, r: ReleaseFacts, now: number = Date.now()): boolean {
  return releaseMatchesScope(releaseScopeOf(p, now), r)
}

/**
 * artifactInScope (layer A): the release is in scope and, for customers (licenses, users, anonymous), the
 * release is PUBLISHED and the artifact UPLOADED. Staff and the owning product see every status.
 */
export function artifactInScope(p: Principal, r: ReleaseFacts, a: ArtifactFacts, now: number = Date.now()): boolean {
  if (!releaseInScope(p, r, now)) return false
  if (seesUnpublished(p, r.productId)) return true
  return r.status === 'PUBLISHED' && a.status === 'UPLOADED'
}

// ---------------------------------------------------------------------------------------------------------------
// Layer B: show rules

/**
 * canShowRelease (layer B, Keygen's `ReleasePolicy#show?`), in this order:
 * 1. the product is OPEN and the release unconstrained → allow anyone, anonymous included;
 * 2. anonymous → deny "authentication is required";
 * 3. staff → allow; product → allow its own product's releases;
 * 4. license → only its own product's releases; CLOSED → "release distribution strategy is closed"; then
 *    {@link verifyLicenseForRelease};
 * 5. user → only if it holds a license for the product; CLOSED → closed; allow if ANY of its licenses for the
 *    product passes {@link verifyLicenseForRelease}, else the first failing license's reason.
 * Status is not checked here: DRAFT/YANKED releases are already outside a customer's scope.
 */
export function canShowRelease(p: Principal, r: ReleaseFacts, now: number = Date.now()): Decision {
  if (isOpenUnconstrained(r)) return ALLOW
  switch (p.kind) {
    case 'anonymous':
      return deny(REASONS.authenticationRequired)
    case 'staff':
      return ALLOW
    case 'product':
      return p.productId === r.productId ? ALLOW : deny(REASONS.notAllowed)
    case 'license':
      if (p.license.productId !== r.productId) return deny(REASONS.notAllowed)
      if (r.strategy === 'CLOSED') return deny(REASONS.closed)
      return verifyLicenseForRelease(p.license, r, now)
    case 'user': {
      const licenses = p.licenses.filter((l) => l.productId === r.productId)
      if (licenses.length === 0) return deny(REASONS.notAllowed)
      if (r.strategy === 'CLOSED') return deny(REASONS.closed)
      let first: Decision | null = null
      for (const l of licenses) {
        const d = verifyLicenseForRelease(l, r, now)
        if (d.allow) return ALLOW
        first ??= d
      }
      return first ?? deny(REASONS.notAllowed)
    }
  }
}

/**
 * isDownloadable: an artifact's bytes may be served (303 to storage) only when it is UPLOADED and its release is
 * not YANKED; otherwise privileged callers get the artifact JSON without a URL.
 */
export function isDownloadable(r: Pick<ReleaseFacts, 'status'>, a: ArtifactFacts): boolean {
  return a.status === 'UPLOADED' && r.status !== 'YANKED'
}

/** Both layers: 404 when outside the scope, 403 with the reason when the show rule denies. */
export type Access = { allow: true } | { allow: false; status: 404 } | { allow: false; status: 403; reason: string }

/** checkReleaseAccess runs {@link releaseInScope} then {@link canShowRelease}. */
export function checkReleaseAccess(p: Principal, r: ReleaseFacts, now: number = Date.now()): Access {
  if (!releaseInScope(p, r, now)) return { allow: false, status: 404 }
  const d = canShowRelease(p, r, now)
  return d.allow ? { allow: true } : { allow: false, status: 403, reason: d.reason }
}

/** checkArtifactAccess runs {@link artifactInScope} then the release's show rule. */
export function checkArtifactAccess(p: Principal, r: ReleaseFacts, a: ArtifactFacts, now: number = Date.now()): Access {
  if (!artifactInScope(p, r, a, now)) return { allow: false, status: 404 }
  // Artifacts (and their manifests and descriptors) delegate their show rule to their release.
  const d = canShowRelease(p, r, now)
  return d.allow ? { allow: true } : { allow: false, status: 403, reason: d.reason }
}

// ---------------------------------------------------------------------------------------------------------------
// Packages

/**
 * The package scope of a principal: `all` (staff); `product` (its own packages, any strategy, not other
 * products' OPEN packages); `customer`: packages of OPEN products plus packages of the listed LICENSED products
 * (the products of the caller's licenses; none for anonymous). CLOSED packages reach only staff and the owner.
 */
export type PackageScope =
  | { kind: 'all' }
  | { kind: 'product'; productId: string }
  | { kind: 'customer'; licensedProductIds: readonly string[] }

export function packageScopeOf(p: Principal): PackageScope {
  switch (p.kind) {
    case 'staff':
      return { kind: 'all' }
    case 'product':
      return { kind: 'product', productId: p.productId }
    default:
      return { kind: 'customer', licensedProductIds: [...new Set(licensesOf(p).map((l) => l.productId))] }
  }
}

/** packageInScope (layer A for packages, engines.md §1.4 (a)); outside it is a 404. */
export function packageInScope(p: Principal, pkg: PackageFacts): boolean {
  const scope = packageScopeOf(p)
  switch (scope.kind) {
    case 'all':
      return true
    case 'product':
      return pkg.productId === scope.productId
    case 'customer':
      return (
        pkg.strategy === 'OPEN' || (pkg.strategy === 'LICENSED' && scope.licensedProductIds.includes(pkg.productId))
      )
  }
}

/**
 * canShowPackage (Keygen's `ReleasePackagePolicy#show?`): staff allow; product → its own packages; license →
 * OPEN, or LICENSED and its own product; user → OPEN, or LICENSED and it holds a license for the product;
 * anonymous → OPEN only ("authentication is required" otherwise). CLOSED is denied to all of those.
 * Suspension, bans and expiry do not matter for packages.
 */
export function canShowPackage(p: Principal, pkg: PackageFacts): Decision {
  switch (p.kind) {
    case 'staff':
      return ALLOW
    case 'product':
      return p.productId === pkg.productId ? ALLOW : deny(REASONS.notAllowed)
    case 'anonymous':
      return pkg.strategy === 'OPEN' ? ALLOW : deny(REASONS.authenticationRequired)
    case 'license':
    case 'user':
      if (pkg.strategy === 'OPEN') return ALLOW
      if (pkg.strategy === 'LICENSED' && licensesOf(p).some((l) => l.productId === pkg.productId)) return ALLOW
      return deny(REASONS.notAllowed)
  }
}

// ---------------------------------------------------------------------------------------------------------------

/** Epoch ms of an ISO 8601 instant; an unparsable value compares as +∞ (never inside a window). */
function instant(iso: string): number {
  const t = Date.parse(iso)
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t
}
