import { describe, expect, it } from 'vitest'
import {
  type ArtifactFacts,
  artifactInScope,
  canChooseDownloadTtl,
  canManageProduct,
  canReadAll,
  canShowPackage,
  canShowRelease,
  checkArtifactAccess,
  checkReleaseAccess,
  type Decision,
  isDownloadable,
  type PackageFacts,
  packageInScope,
  packageScopeOf,
  REASONS,
  type ReleaseFacts,
  releaseInScope,
  releaseScopeOf,
} from '../../gateway/auth/policy.ts'
import type { LicenseContext, Principal, StaffRole } from '../../gateway/auth/principal.ts'
import type { ArtifactStatus, DistributionStrategy, ExpirationStrategy } from '../../gateway/catalog/types.ts'

/*
 * One row per cell of management-api.md §4 and engines.md §1.4: bearer × distribution strategy × release status ×
 * constraints × expiration strategy × expired or not × backdated × suspended/banned, plus artifact status and
 * package visibility. Each row names both layers (scope → 404, show rule → 403 reason), so changing any cell of
 * the policy fails exactly the rows that cover it.
 */

const NOW = Date.parse('2025-06-01T00:00:00.000Z')
const JAN = '2025-01-01T00:00:00.000Z'
const FEB = '2025-02-01T00:00:00.000Z'
const MAR = '2025-03-01T00:00:00.000Z' // an expiry in the past
const APR = '2025-04-01T00:00:00.000Z'
const MAY = '2025-05-01T00:00:00.000Z'
const SEP = '2025-09-01T00:00:00.000Z' // an expiry in the future
const OCT = '2025-10-01T00:00:00.000Z'

const P1 = 'product-1'
const P2 = 'product-2'
const E1 = 'entitlement-1'
const E2 = 'entitlement-2'

let licenseSeq = 0
function lic(
  opts: {
    product?: string
    exp?: ExpirationStrategy
    expiry?: string | null
    suspended?: boolean
    banned?: boolean
    ents?: string[]
  } = {},
): LicenseContext {
  return {
    id: `license-${++licenseSeq}`,
    productId: opts.product ?? P1,
    policyId: 'policy',
    expiry: opts.expiry ?? null,
    suspended: opts.suspended ?? false,
    banned: opts.banned ?? false,
    expirationStrategy: opts.exp ?? 'RESTRICT_ACCESS',
    authenticationStrategy: 'MIXED',
    entitlementIds: new Set(opts.ents ?? [E1]),
  }
}

const staff = (role: StaffRole): Principal => ({ kind: 'staff', role, tokenId: 't', userId: null })
const product = (productId: string): Principal => ({ kind: 'product', tokenId: 't', productId })
const ANON: Principal = { kind: 'anonymous' }
const license = (opts: Parameters<typeof lic>[0] = {}): Principal => ({
  kind: 'license',
  tokenId: null,
  license: lic(opts),
})
const user = (...licenses: LicenseContext[]): Principal => ({
  kind: 'user',
  tokenId: 't',
  userId: 'u',
  banned: false,
  licenses,
})

function rel(opts: Partial<ReleaseFacts> = {}): ReleaseFacts {
  return {
    productId: P1,
    strategy: 'LICENSED',
    status: 'PUBLISHED',
    constraintIds: [],
    createdAt: JAN,
    backdatedTo: null,
    ...opts,
  }
}
const open = (opts: Partial<ReleaseFacts> = {}) => rel({ strategy: 'OPEN', ...opts })
const closed = (opts: Partial<ReleaseFacts> = {}) => rel({ strategy: 'CLOSED', ...opts })

/** `true` = allowed; a string = denied with that reason. */
type Expected = true | string
const ALLOW = true
const {
  authenticationRequired,
  closed: CLOSED,
  suspended,
  banned,
  expired,
  outsideWindow,
  missingEntitlements,
  notAllowed,
} = REASONS

interface ReleaseCase {
  name: string
  who: Principal
  release: ReleaseFacts
  /** Layer A: visible (true) or 404 (false). */
  scope: boolean
  /** Layer B. */
  show: Expected
}

const r = (name: string, who: Principal, release: ReleaseFacts, scope: boolean, show: Expected): ReleaseCase => ({
  name,
  who,
  release,
  scope,
  show,
})

const releaseCases: ReleaseCase[] = [
  // Staff: every release, any status, any strategy.
  r('an admin sees a DRAFT LICENSED release', staff('admin'), rel({ status: 'DRAFT' }), true, ALLOW),
  r('a developer sees a YANKED CLOSED release', staff('developer'), closed({ status: 'YANKED' }), true, ALLOW),
  r(
    'a read-only user sees a DRAFT constrained release',
    staff('read-only'),
    rel({ status: 'DRAFT', constraintIds: [E1] }),
    true,
    ALLOW,
  ),
  r('a sales agent sees a PUBLISHED CLOSED release', staff('sales-agent'), closed(), true, ALLOW),
  r('a support agent sees another product’s release', staff('support-agent'), rel({ productId: P2 }), true, ALLOW),

  // Product: own product, any status; nothing of other products.
  r('a product sees its own DRAFT release', product(P1), rel({ status: 'DRAFT' }), true, ALLOW),
  r('a product sees its own YANKED release', product(P1), rel({ status: 'YANKED' }), true, ALLOW),
  r('a product sees its own CLOSED release', product(P1), closed(), true, ALLOW),
  r('a product does not see another product’s LICENSED release', product(P2), rel(), false, notAllowed),
  r('a product does not list another product’s OPEN release, though it may show it', product(P2), open(), false, ALLOW),
  r('a product does not see another product’s DRAFT', product(P2), rel({ status: 'DRAFT' }), false, notAllowed),

  // Anonymous: OPEN, unconstrained, PUBLISHED only.
  r('anonymous sees a PUBLISHED unconstrained OPEN release', ANON, open(), true, ALLOW),
  r(
    'anonymous does not see a constrained OPEN release',
    ANON,
    open({ constraintIds: [E1] }),
    false,
    authenticationRequired,
  ),
  r('anonymous does not see a LICENSED release', ANON, rel(), false, authenticationRequired),
  r('anonymous does not see a CLOSED release', ANON, closed(), false, authenticationRequired),
  r('anonymous does not see a DRAFT OPEN release', ANON, open({ status: 'DRAFT' }), false, ALLOW),
  r('anonymous does not see a YANKED OPEN release', ANON, open({ status: 'YANKED' }), false, ALLOW),

  // License without expiry, holding E1.
  r('a license sees a PUBLISHED release of its LICENSED product', license(), rel(), true, ALLOW),
  r('a license sees a PUBLISHED release of its OPEN product', license(), open(), true, ALLOW),
  r('a license does not see its CLOSED product', license(), closed(), false, CLOSED),
  r('a license does not see a DRAFT of its product', license(), rel({ status: 'DRAFT' }), false, ALLOW),
  r('a license does not see a YANKED release of its product', license(), rel({ status: 'YANKED' }), false, ALLOW),
  r('a license does not see another LICENSED product', license(), rel({ productId: P2 }), false, notAllowed),
  r('a license sees another product’s unconstrained OPEN release', license(), open({ productId: P2 }), true, ALLOW),
  r(
    'a license does not see another product’s constrained OPEN release',
    license(),
    open({ productId: P2, constraintIds: [E1] }),
    false,
    notAllowed,
  ),
  r(
    'a license sees a release constrained to an entitlement it holds',
    license(),
    rel({ constraintIds: [E1] }),
    true,
    ALLOW,
  ),
  r(
    'a license needs ALL constrained entitlements',
    license(),
    rel({ constraintIds: [E1, E2] }),
    false,
    missingEntitlements,
  ),
  r(
    'a license lacking the constrained entitlement is refused',
    license(),
    rel({ constraintIds: [E2] }),
    false,
    missingEntitlements,
  ),
  r(
    'a license lacking the entitlement of a constrained OPEN release is refused',
    license(),
    open({ constraintIds: [E2] }),
    false,
    missingEntitlements,
  ),
  r(
    'a license holding the entitlement of a constrained OPEN release sees it',
    license(),
    open({ constraintIds: [E1] }),
    true,
    ALLOW,
  ),
  r(
    'a license holding both entitlements sees a doubly constrained release',
    license({ ents: [E1, E2] }),
    rel({ constraintIds: [E1, E2] }),
    true,
    ALLOW,
  ),

  // REVOKE_ACCESS.
  r(
    'an expired REVOKE license sees nothing of its product',
    license({ exp: 'REVOKE_ACCESS', expiry: MAR }),
    rel(),
    false,
    expired,
  ),
  r(
    'an expired REVOKE license still sees OPEN unconstrained releases',
    license({ exp: 'REVOKE_ACCESS', expiry: MAR }),
    open(),
    true,
    ALLOW,
  ),
  r(
    'a REVOKE license that has not expired sees recent releases',
    license({ exp: 'REVOKE_ACCESS', expiry: SEP }),
    rel({ createdAt: MAY }),
    true,
    ALLOW,
  ),
  r(
    'a REVOKE license that has not expired is in scope of a release dated after its expiry, but the show rule refuses it',
    license({ exp: 'REVOKE_ACCESS', expiry: SEP }),
    rel({ createdAt: OCT }),
    true,
    outsideWindow,
  ),

  // RESTRICT_ACCESS.
  r(
    'an expired RESTRICT license sees releases created before its expiry',
    license({ expiry: MAR }),
    rel({ createdAt: JAN }),
    true,
    ALLOW,
  ),
  r(
    'an expired RESTRICT license does not see releases created after its expiry',
    license({ expiry: MAR }),
    rel({ createdAt: MAY }),
    false,
    outsideWindow,
  ),
  r(
    'an expired RESTRICT license sees a later release backdated before its expiry',
    license({ expiry: MAR }),
    rel({ createdAt: MAY, backdatedTo: FEB }),
    true,
    ALLOW,
  ),
  r(
    'an expired RESTRICT license is in scope of an early release backdated after its expiry, but the show rule refuses it',
    license({ expiry: MAR }),
    rel({ createdAt: JAN, backdatedTo: APR }),
    true,
    outsideWindow,
  ),
  r(
    'an expired RESTRICT license sees a release created exactly at its expiry',
    license({ expiry: MAR }),
    rel({ createdAt: MAR }),
    true,
    ALLOW,
  ),
  r(
    'a RESTRICT license that has not expired sees recent releases',
    license({ expiry: SEP }),
    rel({ createdAt: MAY }),
    true,
    ALLOW,
  ),
  r(
    'a RESTRICT license that has not expired does not see a release dated after its expiry',
    license({ expiry: SEP }),
    rel({ createdAt: OCT }),
    false,
    outsideWindow,
  ),
  r('a RESTRICT license without expiry has no window', license({ expiry: null }), rel({ createdAt: MAY }), true, ALLOW),

  // MAINTAIN_ACCESS: same window as RESTRICT.
  r(
    'an expired MAINTAIN license sees releases created before its expiry',
    license({ exp: 'MAINTAIN_ACCESS', expiry: MAR }),
    rel({ createdAt: JAN }),
    true,
    ALLOW,
  ),
  r(
    'an expired MAINTAIN license does not see releases created after its expiry',
    license({ exp: 'MAINTAIN_ACCESS', expiry: MAR }),
    rel({ createdAt: MAY }),
    false,
    outsideWindow,
  ),
  r(
    'an expired MAINTAIN license sees a later release backdated before its expiry',
    license({ exp: 'MAINTAIN_ACCESS', expiry: MAR }),
    rel({ createdAt: MAY, backdatedTo: FEB }),
    true,
    ALLOW,
  ),

  // ALLOW_ACCESS: no window at all.
  r(
    'an expired ALLOW license sees releases created after its expiry',
    license({ exp: 'ALLOW_ACCESS', expiry: MAR }),
    rel({ createdAt: MAY }),
    true,
    ALLOW,
  ),
  r(
    'an expired ALLOW license sees releases created before its expiry',
    license({ exp: 'ALLOW_ACCESS', expiry: MAR }),
    rel({ createdAt: JAN }),
    true,
    ALLOW,
  ),
  r(
    'an expired ALLOW license still does not see its CLOSED product',
    license({ exp: 'ALLOW_ACCESS', expiry: MAR }),
    closed(),
    false,
    CLOSED,
  ),
  r(
    'an expired ALLOW license still needs the constrained entitlements',
    license({ exp: 'ALLOW_ACCESS', expiry: MAR }),
    rel({ constraintIds: [E2] }),
    false,
    missingEntitlements,
  ),

  // Suspension and bans are show-rule denials, not scope.
  r(
    'a suspended license is refused a LICENSED release it can see',
    license({ suspended: true }),
    rel(),
    true,
    suspended,
  ),
  r('a suspended license still gets OPEN unconstrained releases', license({ suspended: true }), open(), true, ALLOW),
  r('a license with a banned owner is refused', license({ banned: true }), rel(), true, banned),
  r('suspension is reported before a ban', license({ suspended: true, banned: true }), rel(), true, suspended),
  r(
    'a ban is reported before REVOKE expiry',
    license({ banned: true, exp: 'REVOKE_ACCESS', expiry: MAR }),
    rel(),
    false,
    banned,
  ),
  r(
    'suspension is reported before missing entitlements',
    license({ suspended: true }),
    rel({ constraintIds: [E2] }),
    false,
    suspended,
  ),
  r(
    'the access window is reported before missing entitlements',
    license({ expiry: MAR }),
    rel({ createdAt: MAY, constraintIds: [E2] }),
    false,
    outsideWindow,
  ),

  // Users: the union of their licenses.
  r('a user without licenses does not see a LICENSED release', user(), rel(), false, notAllowed),
  r('a user without licenses sees OPEN unconstrained releases', user(), open({ productId: P2 }), true, ALLOW),
  r('a user with a valid license sees the product’s release', user(lic()), rel(), true, ALLOW),
  r('a user passes if ANY license for the product passes', user(lic({ suspended: true }), lic()), rel(), true, ALLOW),
  r(
    'a user whose licenses all fail gets the first failing reason (suspended)',
    user(lic({ suspended: true }), lic({ expiry: MAR })),
    rel({ createdAt: MAY }),
    true,
    suspended,
  ),
  r(
    'a user whose licenses all fail gets the first failing reason (window)',
    user(lic({ expiry: MAR }), lic({ suspended: true })),
    rel({ createdAt: MAY }),
    true,
    outsideWindow,
  ),
  r(
    'a user with a license of another product does not see this one',
    user(lic({ product: P2 })),
    rel(),
    false,
    notAllowed,
  ),
  r('a user does not see a CLOSED product even with a license for it', user(lic()), closed(), false, CLOSED),
  r(
    'a user does not combine entitlements across licenses',
    user(lic({ ents: [E1] }), lic({ ents: [E2] })),
    rel({ constraintIds: [E1, E2] }),
    false,
    missingEntitlements,
  ),
  r(
    'a user sees a constrained release through an entitled license',
    user(lic({ ents: [E2] }), lic({ ents: [E1] })),
    rel({ constraintIds: [E1] }),
    true,
    ALLOW,
  ),
  r(
    'a user with only an expired REVOKE license is refused',
    user(lic({ exp: 'REVOKE_ACCESS', expiry: MAR })),
    rel(),
    false,
    expired,
  ),
  r('a user does not see a DRAFT even with a valid license', user(lic()), rel({ status: 'DRAFT' }), false, ALLOW),
  r(
    'a user does not see a YANKED release even with a valid license',
    user(lic()),
    rel({ status: 'YANKED' }),
    false,
    ALLOW,
  ),
  r('a user whose license has a banned owner is refused', user(lic({ banned: true })), rel(), true, banned),
  r(
    'a user with licenses of two products sees either product',
    user(lic(), lic({ product: P2 })),
    rel({ productId: P2 }),
    true,
    ALLOW,
  ),
]

const decision = (e: Expected): Decision => (e === true ? { allow: true } : { allow: false, reason: e })

describe('release policy table', () => {
  it('has one row per cell of the specs’ tables', async () => {
    expect(releaseCases.length).toBeGreaterThanOrEqual(60)
    expect(new Set(releaseCases.map((c) => c.name)).size).toBe(releaseCases.length)
  })

  for (const c of releaseCases) {
    it(`${c.name} (scope: ${c.scope ? 'visible' : '404'}, show: ${c.show === true ? 'allow' : c.show})`, async () => {
      expect(releaseInScope(c.who, c.release, NOW)).toBe(c.scope)
      expect(canShowRelease(c.who, c.release, NOW)).toEqual(decision(c.show))
      const access = checkReleaseAccess(c.who, c.release, NOW)
      if (!c.scope) expect(access).toEqual({ allow: false, status: 404 })
      else if (c.show === true) expect(access).toEqual({ allow: true })
      else expect(access).toEqual({ allow: false, status: 403, reason: c.show })
    })
  }
})

interface ArtifactCase {
  name: string
  who: Principal
  release: ReleaseFacts
  artifact: ArtifactStatus
  visible: boolean
}

const a = (name: string, who: Principal, release: ReleaseFacts, artifact: ArtifactStatus, visible: boolean) => ({
  name,
  who,
  release,
  artifact,
  visible,
})

const artifactCases: ArtifactCase[] = [
  a('an admin sees a WAITING artifact of a DRAFT release', staff('admin'), rel({ status: 'DRAFT' }), 'WAITING', true),
  a('an admin sees a YANKED artifact of a YANKED release', staff('admin'), rel({ status: 'YANKED' }), 'YANKED', true),
  a('a read-only user sees a FAILED artifact', staff('read-only'), rel(), 'FAILED', true),
  a(
    'a product sees a PROCESSING artifact of its DRAFT release',
    product(P1),
    rel({ status: 'DRAFT' }),
    'PROCESSING',
    true,
  ),
  a('a product sees a FAILED artifact of its release', product(P1), rel(), 'FAILED', true),
  a('a product does not see another product’s UPLOADED artifact', product(P2), rel(), 'UPLOADED', false),
  a('a license sees an UPLOADED artifact of a PUBLISHED release', license(), rel(), 'UPLOADED', true),
  a('a license does not see a WAITING artifact', license(), rel(), 'WAITING', false),
  a('a license does not see a PROCESSING artifact', license(), rel(), 'PROCESSING', false),
  a('a license does not see a FAILED artifact', license(), rel(), 'FAILED', false),
  a('a license does not see a YANKED artifact', license(), rel(), 'YANKED', false),
  a(
    'a license does not see an UPLOADED artifact of a DRAFT release',
    license(),
    rel({ status: 'DRAFT' }),
    'UPLOADED',
    false,
  ),
  a(
    'a license does not see an UPLOADED artifact of a YANKED release',
    license(),
    rel({ status: 'YANKED' }),
    'UPLOADED',
    false,
  ),
  a(
    'a license does not see an artifact of a release outside its window',
    license({ expiry: MAR }),
    rel({ createdAt: MAY }),
    'UPLOADED',
    false,
  ),
  a('anonymous sees an UPLOADED artifact of an OPEN release', ANON, open(), 'UPLOADED', true),
  a('anonymous does not see a WAITING artifact of an OPEN release', ANON, open(), 'WAITING', false),
  a('anonymous does not see an artifact of a LICENSED release', ANON, rel(), 'UPLOADED', false),
  a('a user sees an UPLOADED artifact through its license', user(lic()), rel(), 'UPLOADED', true),
  a('a user does not see a FAILED artifact', user(lic()), rel(), 'FAILED', false),
]

describe('artifact policy table', () => {
  for (const c of artifactCases) {
    it(`${c.name} (${c.visible ? 'visible' : '404'})`, async () => {
      const facts: ArtifactFacts = { status: c.artifact }
      expect(artifactInScope(c.who, c.release, facts, NOW)).toBe(c.visible)
      if (!c.visible) expect(checkArtifactAccess(c.who, c.release, facts, NOW)).toEqual({ allow: false, status: 404 })
    })
  }

  it('refuses a suspended license an artifact it can see with 403 "license is suspended"', async () => {
    expect(checkArtifactAccess(license({ suspended: true }), rel(), { status: 'UPLOADED' }, NOW)).toEqual({
      allow: false,
      status: 403,
      reason: suspended,
    })
  })

  it('serves bytes only for UPLOADED artifacts of releases that are not YANKED', async () => {
    const rows: Array<[ReleaseFacts['status'], ArtifactStatus, boolean]> = [
      ['PUBLISHED', 'UPLOADED', true],
      ['DRAFT', 'UPLOADED', true],
      ['YANKED', 'UPLOADED', false],
      ['PUBLISHED', 'WAITING', false],
      ['PUBLISHED', 'PROCESSING', false],
      ['PUBLISHED', 'FAILED', false],
      ['PUBLISHED', 'YANKED', false],
    ]
    for (const [status, artifact, expected] of rows) {
      expect(isDownloadable({ status }, { status: artifact }), `${status}/${artifact}`).toBe(expected)
    }
  })
})

interface PackageCase {
  name: string
  who: Principal
  pkg: PackageFacts
  scope: boolean
  show: Expected
}

const k = (
  name: string,
  who: Principal,
  productId: string,
  strategy: DistributionStrategy,
  scope: boolean,
  show: Expected,
) => ({
  name,
  who,
  pkg: { productId, strategy },
  scope,
  show,
})

const packageCases: PackageCase[] = [
  k('a read-only user sees another product’s CLOSED package', staff('read-only'), P2, 'CLOSED', true, ALLOW),
  k('an admin sees a LICENSED package', staff('admin'), P1, 'LICENSED', true, ALLOW),
  k('a product sees its own CLOSED package', product(P1), P1, 'CLOSED', true, ALLOW),
  k('a product sees its own LICENSED package', product(P1), P1, 'LICENSED', true, ALLOW),
  k('a product does not see another product’s OPEN package', product(P1), P2, 'OPEN', false, notAllowed),
  k('a license sees its product’s LICENSED package', license(), P1, 'LICENSED', true, ALLOW),
  k('a license sees its product’s OPEN package', license(), P1, 'OPEN', true, ALLOW),
  k('a license sees another product’s OPEN package', license(), P2, 'OPEN', true, ALLOW),
  k('a license does not see another product’s LICENSED package', license(), P2, 'LICENSED', false, notAllowed),
  k('a license does not see its own product’s CLOSED package', license(), P1, 'CLOSED', false, notAllowed),
  k('a suspended license still sees its product’s package', license({ suspended: true }), P1, 'LICENSED', true, ALLOW),
  k(
    'an expired REVOKE license still sees its product’s package',
    license({ exp: 'REVOKE_ACCESS', expiry: MAR }),
    P1,
    'LICENSED',
    true,
    ALLOW,
  ),
  k('a user sees the LICENSED package of a product it holds a license for', user(lic()), P1, 'LICENSED', true, ALLOW),
  k(
    'a user does not see the CLOSED package of a product it holds a license for',
    user(lic()),
    P1,
    'CLOSED',
    false,
    notAllowed,
  ),
  k('a user without licenses sees an OPEN package', user(), P2, 'OPEN', true, ALLOW),
  k('a user without licenses does not see a LICENSED package', user(), P1, 'LICENSED', false, notAllowed),
  k('anonymous sees an OPEN package', ANON, P1, 'OPEN', true, ALLOW),
  k('anonymous does not see a LICENSED package', ANON, P1, 'LICENSED', false, authenticationRequired),
  k('anonymous does not see a CLOSED package', ANON, P1, 'CLOSED', false, authenticationRequired),
]

describe('package policy table', () => {
  for (const c of packageCases) {
    it(`${c.name} (scope: ${c.scope ? 'visible' : '404'}, show: ${c.show === true ? 'allow' : c.show})`, async () => {
      expect(packageInScope(c.who, c.pkg)).toBe(c.scope)
      expect(canShowPackage(c.who, c.pkg)).toEqual(decision(c.show))
    })
  }
})

describe('write and read privileges', () => {
  const managers: Array<[string, Principal, boolean]> = [
    ['an admin', staff('admin'), true],
    ['a developer', staff('developer'), true],
    ['a sales agent', staff('sales-agent'), false],
    ['a support agent', staff('support-agent'), false],
    ['a read-only user', staff('read-only'), false],
    ['the owning product', product(P1), true],
    ['another product', product(P2), false],
    ['a license of the product', license(), false],
    ['a user with a license of the product', user(lic()), false],
    ['anonymous', ANON, false],
  ]
  for (const [who, principal, expected] of managers) {
    it(`${expected ? 'lets' : 'does not let'} ${who} manage the product’s releases, artifacts and packages`, async () => {
      expect(canManageProduct(principal, P1)).toBe(expected)
    })
  }

  const ttl: Array<[string, Principal, boolean]> = [
    ['an admin', staff('admin'), true],
    ['a developer', staff('developer'), true],
    ['a sales agent', staff('sales-agent'), true],
    ['a support agent', staff('support-agent'), true],
    ['a read-only user', staff('read-only'), false],
    ['a product', product(P1), true],
    ['a license', license(), false],
    ['a user', user(lic()), false],
    ['anonymous', ANON, false],
  ]
  for (const [who, principal, expected] of ttl) {
    it(`${expected ? 'honours' : 'ignores'} a download ttl chosen by ${who}`, async () => {
      expect(canChooseDownloadTtl(principal)).toBe(expected)
    })
  }

  it('lets every staff role, and nobody else, read everything', async () => {
    for (const role of ['admin', 'developer', 'sales-agent', 'support-agent', 'read-only'] as const) {
      expect(canReadAll(staff(role))).toBe(true)
    }
    for (const p of [product(P1), license(), user(lic()), ANON]) expect(canReadAll(p)).toBe(false)
  })
})

describe('scopes as data', () => {
  it('describes a license scope as one grant with its entitlements and window', async () => {
    expect(releaseScopeOf(license({ expiry: MAR, ents: [E1, E2] }), NOW)).toEqual({
      kind: 'customer',
      grants: [{ productId: P1, entitlementIds: [E1, E2], notAfter: MAR }],
    })
  })

  it('drops the grant of an expired REVOKE license and keeps no window for ALLOW, unexpired REVOKE or no expiry', async () => {
    expect(
      releaseScopeOf(
        user(
          lic({ exp: 'REVOKE_ACCESS', expiry: MAR }),
          lic({ exp: 'REVOKE_ACCESS', expiry: SEP, product: P2 }),
          lic({ exp: 'ALLOW_ACCESS', expiry: MAR, ents: [] }),
          lic({ exp: 'MAINTAIN_ACCESS', expiry: null, ents: [] }),
        ),
        NOW,
      ),
    ).toEqual({
      kind: 'customer',
      grants: [
        { productId: P2, entitlementIds: [E1], notAfter: null },
        { productId: P1, entitlementIds: [], notAfter: null },
        { productId: P1, entitlementIds: [], notAfter: null },
      ],
    })
  })

  it('describes staff, product and anonymous scopes', async () => {
    expect(releaseScopeOf(staff('read-only'), NOW)).toEqual({ kind: 'all' })
    expect(releaseScopeOf(product(P1), NOW)).toEqual({ kind: 'product', productId: P1 })
    expect(releaseScopeOf(ANON, NOW)).toEqual({ kind: 'customer', grants: [] })
    expect(packageScopeOf(user(lic(), lic(), lic({ product: P2 })))).toEqual({
      kind: 'customer',
      licensedProductIds: [P1, P2],
    })
    expect(packageScopeOf(ANON)).toEqual({ kind: 'customer', licensedProductIds: [] })
  })

  it('depends on the injected clock: a RESTRICT license is windowed only once it has an expiry, REVOKE only once expired', async () => {
    const p = license({ exp: 'REVOKE_ACCESS', expiry: MAR })
    expect(releaseInScope(p, rel(), Date.parse(FEB))).toBe(true)
    expect(releaseInScope(p, rel(), NOW)).toBe(false)
  })
})
