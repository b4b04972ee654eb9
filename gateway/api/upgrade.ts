import type { FastifyInstance } from 'fastify'
import { canShowRelease } from '../auth/policy.ts'
import type { LoadedRelease } from '../read-model/account-snapshot.ts'
import { CHANNELS, type Channel } from '../catalog/types.ts'
import { compareVersions } from '../catalog/versions.ts'
import { badRequest, notFound } from '../errors.ts'
import { sendDocument } from './jsonapi.ts'
import { findRelease, releaseFiltersFromQuery, scopedReleases } from './lookup.ts'
import { param } from './pagination.ts'
import { releaseResource } from './serializers.ts'

/** A parsed `constraint`: only the parts given matter (`1.0` pins major 1, minor ≥ 0; `1.2.3` pins 1.2, patch ≥ 3). */
interface Constraint {
  major: number
  minor: number
  patch?: number
}

export function parseConstraint(raw: string): Constraint | null {
  const m = /^\s*(?:[~^<>=]{0,2}\s*)v?(\d{1,9})\.(\d{1,9})(?:\.(\d{1,9}))?(?:[-+][0-9A-Za-z.-]+)?\s*$/.exec(raw)
  if (!m) return null
  return { major: Number(m[1]), minor: Number(m[2]), patch: m[3] === undefined ? undefined : Number(m[3]) }
}

function satisfies(release: LoadedRelease, c: Constraint): boolean {
  const { semver_major: major, semver_minor: minor, semver_patch: patch } = release.row
  if (Number(major) !== c.major) return false
  if (c.patch === undefined) return Number(minor) >= c.minor
  return Number(minor) === c.minor && Number(patch) >= c.patch
}

/**
 * `GET /v1/releases/:id|version|tag/upgrade`: the highest published release of the same product, package and
 * (cumulative) channel above the current one, within an optional constraint. No upgrade is a 404, which the Go
 * SDK maps to ErrUpgradeNotAvailable. see: ../shared/spec/management-api.md §2.5
 */
export async function upgradeRoutes(fastify: FastifyInstance) {
  fastify.get<{ Params: { id: string } }>('/releases/:id/upgrade', async (request, reply) => {
    const query = request.query
    const current = await findRelease(request, request.params.id, releaseFiltersFromQuery(query))
    const channelRaw = param(query, 'channel')
    if (channelRaw !== undefined && !CHANNELS.includes(channelRaw as Channel)) {
      throw badRequest('must be one of: stable, rc, beta, alpha, dev', { parameter: 'channel' }, 'CHANNEL_INVALID')
    }
    const rawConstraint = param(query, 'constraint')
    const constraint = rawConstraint ? parseConstraint(rawConstraint) : undefined
    if (constraint === null)
      throw badRequest('must be a valid version constraint', { parameter: 'constraint' }, 'CONSTRAINT_INVALID')
    const candidates = await scopedReleases(request, {
      product: current.row.product_id,
      package: current.row.package_id ?? '',
      channel: (channelRaw as Channel | undefined) ?? current.row.channel,
    })
    const next = candidates
      .filter((r) => r.row.status === 'PUBLISHED' && r.row.id !== current.row.id)
      .filter((r) => compareVersions(r.row.version, current.row.version) > 0)
      .filter((r) => !constraint || satisfies(r, constraint))
      .filter((r) => canShowRelease(request.principal, r.facts).allow)
      .sort((a, b) => compareVersions(b.row.version, a.row.version))[0]
    if (!next) throw notFound(`No upgrade available for release '${request.params.id}'`)
    return sendDocument(request, reply, 200, {
      data: releaseResource(next.row),
      meta: { current: current.row.version, next: next.row.version },
    })
  })
}
