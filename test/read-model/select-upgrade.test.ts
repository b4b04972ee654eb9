import { randomUUID } from 'node:crypto'
import semver from 'semver'
import { describe, expect, it } from 'vitest'
import { ANONYMOUS, type LicenseContext, type Principal } from '../../gateway/auth/principal.ts'
import type { Channel, DistributionStrategy, ReleaseRow, ReleaseStatus } from '../../gateway/catalog/types.ts'
import { AccountSnapshot } from '../../gateway/read-model/account-snapshot.ts'
import { parseConstraint, selectUpgrade } from '../../gateway/read-model/select-upgrade.ts'

/**
 * The one release-selection rule of `GET /v1/releases/:id/upgrade` and the Tauri engine, as a table over an
 * in-memory snapshot: channel sets, constraint narrowing, equal/older versions, prerelease and build precedence,
 * status, scope (entitlements, expiry window, OPEN for anonymous) and package lines.
 * see: ../shared/spec/engines.md §2.6 step 6 · ../shared/spec/management-api.md §2.5
 */

const ACCOUNT = randomUUID()
const ENTITLEMENT = randomUUID()
const DAY = 86_400_000
const T0 = Date.parse('2024-01-01T00:00:00.000Z')
const at = (day: number) => new Date(T0 + day * DAY).toISOString()

const product = (strategy: DistributionStrategy) => ({
  id: randomUUID(),
  account_id: ACCOUNT,
  name: strategy,
  code: strategy.toLowerCase(),
  code_key: strategy.toLowerCase(),
  distribution_strategy: strategy,
  url: null,
  platforms: null,
  metadata: '{}',
  created_at: at(0),
  updated_at: at(0),
})
const LICENSED = product('LICENSED')
const OPEN = product('OPEN')
const pkg = (key: string, productId: string) => ({
  id: randomUUID(),
  account_id: ACCOUNT,
  product_id: productId,
  name: key,
  key,
  engine: 'tauri' as const,
  metadata: '{}',
  created_at: at(0),
  updated_at: at(0),
})
const APP = pkg('app', LICENSED.id)
const PRE = pkg('pre', LICENSED.id)
const BUILDS = pkg('builds', LICENSED.id)
const FREE = pkg('free', OPEN.id)

interface Spec {
  status?: ReleaseStatus
  channel?: Channel
  constrained?: boolean
  day?: number
}

const releases: ReleaseRow[] = []
const constraints: { release_id: string; entitlement_id: string }[] = []
let day = 1
function release(line: { id: string; product_id: string } | null, version: string, spec: Spec = {}): void {
  const v = semver.parse(version)!
  const pre = v.prerelease.length ? v.prerelease.join('.') : null
  const row: ReleaseRow = {
    id: randomUUID(),
    account_id: ACCOUNT,
    product_id: line?.product_id ?? LICENSED.id,
    package_id: line?.id ?? null,
    package_scope: line?.id ?? '',
    version,
    semver_major: v.major,
    semver_minor: v.minor,
    semver_patch: v.patch,
    semver_prerelease: pre,
    semver_build: v.build.length ? v.build.join('.') : null,
    channel: spec.channel ?? (pre?.match(/^(rc|beta|alpha|dev)/)?.[1] as Channel | undefined) ?? 'stable',
    tag: null,
    status: spec.status ?? 'PUBLISHED',
    name: null,
    description: null,
    backdated_to: null,
    yanked_at: null,
    metadata: '{}',
    created_at: at(spec.day ?? day++),
    updated_at: at(0),
  }
  releases.push(row)
  if (spec.constrained) constraints.push({ release_id: row.id, entitlement_id: ENTITLEMENT })
}

// app: created one day apart in this order (1.0.0 on day 1 … 2.0.0 on day 11).
release(APP, '1.0.0')
release(APP, '1.0.1')
release(APP, '1.1.0')
release(APP, '1.2.0-beta.2')
release(APP, '1.2.0-beta.10')
release(APP, '1.2.0-rc.1')
release(APP, '1.3.0-alpha.1')
release(APP, '2.0.0-dev.1')
release(APP, '1.4.0', { status: 'YANKED' })
release(APP, '1.5.0', { status: 'DRAFT' })
release(APP, '2.0.0', { constrained: true })
release(null, '9.0.0')
release(null, '9.1.0')
for (const v of ['1.0.0-alpha.1', '1.0.0-beta', '1.0.0-beta.1', '1.0.0-beta.2', '1.0.0-beta.10', '1.0.0-rc.1', '1.0.0'])
  release(PRE, v)
for (const v of ['3.0.0', '3.0.0+build.1', '3.0.0+build.2', '3.0.0+build.10']) release(BUILDS, v)
release(FREE, '1.0.0')
release(FREE, '1.1.0')
release(FREE, '1.2.0', { constrained: true })

const snap = new AccountSnapshot(ACCOUNT, {
  revisions: { content: 1, auth: 1 },
  products: [LICENSED, OPEN],
  packages: [APP, PRE, BUILDS, FREE],
  entitlements: [],
  engines: [],
  releases,
  constraints,
  artifacts: [],
})

const license = (over: Partial<LicenseContext> = {}): Principal => ({
  kind: 'license',
  tokenId: null,
  license: {
    id: randomUUID(),
    productId: LICENSED.id,
    policyId: randomUUID(),
    expiry: null,
    suspended: false,
    banned: false,
    expirationStrategy: 'RESTRICT_ACCESS',
    authenticationStrategy: 'LICENSE',
    entitlementIds: new Set(),
    ...over,
  },
})
const STAFF: Principal = { kind: 'staff', role: 'admin', tokenId: randomUUID(), userId: null }
const LICENSE = license()
const ENTITLED = license({ entitlementIds: new Set([ENTITLEMENT]) })
/** Expired on day 2.5 with RESTRICT_ACCESS: sees releases created up to day 2 (1.0.0, 1.0.1). */
const RESTRICTED = license({ expiry: new Date(T0 + 2.5 * DAY).toISOString() })
const NOW = T0 + 100 * DAY

const find = (line: { id: string } | null, version: string) =>
  snap.releases.find((r) => r.row.package_id === (line?.id ?? null) && r.row.version === version)!

interface Row {
  name: string
  line?: { id: string } | null
  from: string
  channel?: string
  constraint?: string
  principal?: Principal
  expect: string | undefined
}

const table: Row[] = [
  // Channels: the current release's by default; stable ⊂ rc ⊂ beta ⊂ alpha; dev alone; unknown → none.
  { name: 'stable by default: the highest visible stable', from: '1.0.0', expect: '1.1.0' },
  { name: 'rc adds rc releases', from: '1.1.0', channel: 'rc', expect: '1.2.0-rc.1' },
  { name: 'beta adds beta (rc.1 still outranks beta.10)', from: '1.1.0', channel: 'beta', expect: '1.2.0-rc.1' },
  { name: 'alpha adds alpha', from: '1.1.0', channel: 'alpha', expect: '1.3.0-alpha.1' },
  { name: 'dev is alone (not 2.0.0)', from: '1.0.0', channel: 'dev', principal: STAFF, expect: '2.0.0-dev.1' },
  { name: 'a beta release stays in beta by default', from: '1.2.0-beta.2', expect: '1.2.0-rc.1' },
  { name: 'stable asked from a beta release', from: '1.2.0-beta.2', channel: 'stable', expect: undefined },
  { name: 'an unknown channel has no upgrade', from: '1.0.0', channel: 'nightly', expect: undefined },
  // Equal and older versions are never upgrades.
  { name: 'the highest visible is current', from: '1.1.0', expect: undefined },
  { name: 'nothing above the newest', from: '2.0.0', principal: STAFF, expect: undefined },
  // Status and scope.
  { name: 'staff: constrained 2.0.0, not the draft or the yanked', from: '1.0.0', principal: STAFF, expect: '2.0.0' },
  { name: 'entitled license gets the constrained release', from: '1.0.0', principal: ENTITLED, expect: '2.0.0' },
  {
    name: 'RESTRICT_ACCESS past expiry: nothing created after it',
    from: '1.0.0',
    principal: RESTRICTED,
    expect: '1.0.1',
  },
  { name: 'anonymous: no LICENSED release', from: '1.0.0', principal: ANONYMOUS, expect: undefined },
  { name: 'anonymous: OPEN and unconstrained', line: FREE, from: '1.0.0', principal: ANONYMOUS, expect: '1.1.0' },
  { name: 'package-less releases form their own line', line: null, from: '9.0.0', expect: '9.1.0' },
  // Constraints: operator ignored; major pins major; major.minor keeps minor ≥; a patch pins the minor.
  { name: 'major only', from: '1.0.0', constraint: '1', principal: STAFF, expect: '1.1.0' },
  { name: 'major only, across majors', from: '1.0.0', constraint: '2', principal: STAFF, expect: '2.0.0' },
  { name: 'major.minor', from: '1.0.0', constraint: '1.0', expect: '1.1.0' },
  { name: 'major.minor.patch', from: '1.0.0', constraint: '1.0.0', expect: '1.0.1' },
  { name: 'operator and v prefix ignored', from: '1.0.0', constraint: '~> v1.0.1', expect: '1.0.1' },
  { name: 'nothing within the constraint', from: '1.1.0', constraint: '2.0', expect: undefined },
  { name: 'prerelease word', from: '1.1.0', channel: 'beta', constraint: '1.2.0-beta', expect: '1.2.0-beta.10' },
  { name: 'prerelease number', from: '1.1.0', channel: 'beta', constraint: '1.2.0-beta.2', expect: '1.2.0-beta.2' },
  // Prerelease precedence (alpha < beta < beta.1 < beta.2 < beta.10 < rc.1 < release).
  { name: '1.0.0-beta → 1.0.0', line: PRE, from: '1.0.0-beta', channel: 'beta', expect: '1.0.0' },
  {
    name: 'beta.2 → beta.10',
    line: PRE,
    from: '1.0.0-beta.2',
    channel: 'beta',
    constraint: '1.0.0-beta',
    expect: '1.0.0-beta.10',
  },
  {
    name: 'beta → beta.10',
    line: PRE,
    from: '1.0.0-beta',
    channel: 'beta',
    constraint: '1-beta',
    expect: '1.0.0-beta.10',
  },
  {
    name: 'beta.10 is the last beta',
    line: PRE,
    from: '1.0.0-beta.10',
    channel: 'beta',
    constraint: '1.0.0-beta',
    expect: undefined,
  },
  {
    name: 'alpha → rc by constraint',
    line: PRE,
    from: '1.0.0-alpha.1',
    channel: 'alpha',
    constraint: '1.0.0-rc',
    expect: '1.0.0-rc.1',
  },
  { name: 'rc.1 → 1.0.0 in rc', line: PRE, from: '1.0.0-rc.1', channel: 'rc', expect: '1.0.0' },
  // Build metadata: none below any; numbers compare numerically.
  { name: 'no build → highest build', line: BUILDS, from: '3.0.0', expect: '3.0.0+build.10' },
  { name: '+build.2 → +build.10', line: BUILDS, from: '3.0.0+build.2', expect: '3.0.0+build.10' },
  { name: '+build.10 is the last', line: BUILDS, from: '3.0.0+build.10', expect: undefined },
]

describe('selectUpgrade (shared by the upgrade API and the Tauri engine)', () => {
  it.each(table)('$name', (row) => {
    const current = find(row.line === undefined ? APP : row.line, row.from)
    expect(current, `fixture ${row.from}`).toBeDefined()
    const constraint = row.constraint === undefined ? undefined : parseConstraint(row.constraint)
    expect(constraint, `constraint ${row.constraint}`).not.toBeNull()
    const next = selectUpgrade(snap, row.principal ?? LICENSE, NOW, {
      current,
      channel: row.channel,
      constraint: constraint ?? undefined,
    })
    expect(next?.row.version).toBe(row.expect)
  })
})

describe('parseConstraint', () => {
  it.each([
    ['1', { major: 1 }],
    ['1.2', { major: 1, minor: 2 }],
    ['>= 1.2.3', { major: 1, minor: 2, patch: 3 }],
    [
      '^v1.2.3-beta.4+build.5',
      {
        major: 1,
        minor: 2,
        patch: 3,
        pre: { word: 'beta', num: 4 },
        build: { word: 'build', num: 5 },
      },
    ],
  ])('reads %j', (raw, parsed) => {
    expect(parseConstraint(raw)).toEqual({
      minor: undefined,
      patch: undefined,
      pre: undefined,
      build: undefined,
      ...parsed,
    })
  })

  it.each(['', 'banana', '1.x', '1.2.3.4', '>>1', '1.2.3-'])('rejects %j', (raw) => {
    expect(parseConstraint(raw)).toBeNull()
  })
})
