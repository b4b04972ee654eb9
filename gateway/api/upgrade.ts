import type { FastifyInstance } from 'fastify'
import { canShowRelease } from '../auth/policy.ts'
import { badRequest, forbidden, notFound } from '../errors.ts'
import * as read from '../read-model/lookup.ts'
import { isChannel, parseConstraint, selectUpgrade } from '../read-model/select-upgrade.ts'
import { sendDocument } from './jsonapi.ts'
import { releaseFiltersFromQuery, snapshotOf } from './lookup.ts'
import { param } from './pagination.ts'
import { releaseResource } from './serializers.ts'

/**
 * `GET /v1/releases/:id|version|tag/upgrade`: the highest published release of the same product, package and
 * (cumulative) channel above the current one, within an optional constraint, chosen by the rule the Tauri engine
 * shares (gateway/read-model/select-upgrade.ts). No upgrade is a 404, which the Go SDK maps to
 * ErrUpgradeNotAvailable. see: ../shared/spec/management-api.md §2.5
 */
export async function upgradeRoutes(fastify: FastifyInstance) {
  fastify.get<{ Params: { id: string } }>('/releases/:id/upgrade', async (request, reply) => {
    const { query, principal } = request
    const now = Date.now()
    const snap = await snapshotOf(request)
    const current = read.findRelease(snap, principal, request.params.id, releaseFiltersFromQuery(query), now)
    const channel = param(query, 'channel')
    if (channel !== undefined && !isChannel(channel)) {
      throw badRequest('must be one of: stable, rc, beta, alpha, dev', { parameter: 'channel' }, 'CHANNEL_INVALID')
    }
    const rawConstraint = param(query, 'constraint')
    const constraint = rawConstraint ? parseConstraint(rawConstraint) : undefined
    if (constraint === null)
      throw badRequest('must be a valid version constraint', { parameter: 'constraint' }, 'CONSTRAINT_INVALID')
    const next = selectUpgrade(snap, principal, now, { current, channel, constraint })
    if (!next) throw notFound(`No upgrade available for release '${request.params.id}'`)
    const decision = canShowRelease(principal, next.facts, now)
    if (!decision.allow) throw forbidden(decision.reason)
    return sendDocument(request, reply, 200, {
      data: releaseResource(next.row),
      meta: { current: current.row.version, next: next.row.version },
    })
  })
}
