import { releaseInScope } from '../auth/policy.ts'
import type { Principal } from '../auth/principal.ts'
import { CHANNELS, type Channel, type ReleaseRow } from '../catalog/types.ts'
import { channelsFor, compareVersions } from '../catalog/versions.ts'
import type { AccountSnapshot, LoadedRelease } from './account-snapshot.ts'

/**
 * Release upgrades, one rule for `GET /v1/releases/:id/upgrade` and the Tauri engine (Keygen's `Release#upgrade!`):
 * the highest release of the current release's product and package that is PUBLISHED, in the caller's scope, in
 * the channel set (stable ⊂ rc ⊂ beta ⊂ alpha; dev alone), strictly newer by semver precedence (prerelease and
 * build refinements included: `1.0.0-beta` → `1.0.0`, `+build.1` → `+build.2`) and within the constraint.
 * Pure: a snapshot, a principal, `now` and the criteria in; no request, no I/O. The callers apply the show rule
 * to the current release and to the result (403 when denied).
 * see: ../shared/spec/management-api.md §2.5 · ../shared/spec/engines.md §2.6
 */

/** Identifiers of a prerelease or build part: the non-numeric ones joined by `.`, and the first numeric one. */
interface Tags {
  word: string | null
  num: number | null
}

/**
 * A parsed `constraint`: the operator is ignored, only the parts given matter. `2` keeps major 2; `1.0` keeps
 * major 1 with minor ≥ 0; `1.2.3` keeps 1.2 with patch ≥ 3. A prerelease (`1.0.0-beta.2`) or build part keeps
 * versions whose prerelease (build) word and number equal the given ones, each only when given.
 */
export interface VersionConstraint {
  major: number
  minor?: number
  patch?: number
  pre?: Tags
  build?: Tags
}

const OPERATOR = String.raw`(?:(?:~>|>=|<=|!=|[~^<>=])\s*)?`
const PARTS = String.raw`v?(\d{1,9})(?:\.(\d{1,9}))?(?:\.(\d{1,9}))?(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?`
const CONSTRAINT = new RegExp(String.raw`^\s*${OPERATOR}${PARTS}\s*$`)

function tagsOf(part: string | null | undefined): Tags | undefined {
  if (!part) return undefined
  const ids = part.split('.').filter((s) => s !== '')
  const words = ids.filter((s) => !/^\d+$/.test(s))
  const num = ids.find((s) => /^\d+$/.test(s))
  return { word: words.length ? words.join('.') : null, num: num === undefined ? null : Number(num) }
}

/** parseConstraint reads `[op] [v]major[.minor[.patch]][-pre][+build]`, or returns null when it is not one. */
export function parseConstraint(raw: string): VersionConstraint | null {
  const m = CONSTRAINT.exec(raw)
  if (!m) return null
  const int = (s: string | undefined) => (s === undefined ? undefined : Number(s))
  return { major: Number(m[1]), minor: int(m[2]), patch: int(m[3]), pre: tagsOf(m[4]), build: tagsOf(m[5]) }
}

function tagsMatch(wanted: Tags | undefined, actual: Tags | undefined): boolean {
  if (!wanted) return true
  return (
    (wanted.word === null || wanted.word === (actual?.word ?? null)) &&
    (wanted.num === null || wanted.num === (actual?.num ?? null))
  )
}

/** satisfies applies a {@link VersionConstraint} to a release. */
export function satisfies(row: ReleaseRow, c: VersionConstraint): boolean {
  const [major, minor, patch] = [Number(row.semver_major), Number(row.semver_minor), Number(row.semver_patch)]
  if (!tagsMatch(c.pre, tagsOf(row.semver_prerelease)) || !tagsMatch(c.build, tagsOf(row.semver_build))) return false
  if (major !== c.major) return false
  if (c.minor === undefined) return true
  if (c.patch === undefined) return minor >= c.minor
  return minor === c.minor && patch >= c.patch
}

/** isChannel: one of the five channel keys. */
export const isChannel = (value: string): value is Channel => (CHANNELS as readonly string[]).includes(value)

export interface UpgradeCriteria {
  /** The release to upgrade from. */
  current: LoadedRelease
  /** The channel to look in; default the current release's. An unknown channel has no upgrade. */
  channel?: string
  constraint?: VersionConstraint
}

/** releaseLine lists the releases of one product and package (null: none), highest version first. */
function releaseLine(snap: AccountSnapshot, productId: string, packageId: string | null): readonly LoadedRelease[] {
  return snap.memo(`upgrade:line:${productId}:${packageId ?? ''}`, () =>
    snap.releases
      .filter((r) => r.row.product_id === productId && r.row.package_id === packageId)
      .sort((a, b) => compareVersions(b.row.version, a.row.version)),
  )
}

/** selectUpgrade returns the release to upgrade to, or undefined when there is none. */
export function selectUpgrade(
  snap: AccountSnapshot,
  principal: Principal,
  now: number,
  criteria: UpgradeCriteria,
): LoadedRelease | undefined {
  const { current, constraint } = criteria
  const channel = criteria.channel ?? current.row.channel
  if (!isChannel(channel)) return undefined
  const channels = new Set<Channel>(channelsFor(channel))
  for (const r of releaseLine(snap, current.row.product_id, current.row.package_id)) {
    if (compareVersions(r.row.version, current.row.version) <= 0) return undefined
    if (r.row.status !== 'PUBLISHED' || !channels.has(r.row.channel)) continue
    if (constraint && !satisfies(r.row, constraint)) continue
    if (releaseInScope(principal, r.facts, now)) return r
  }
  return undefined
}
