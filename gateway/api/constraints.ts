import { writeCatalog } from '../catalog/accounts.ts'
import { constraintsOfRelease, deleteConstraints, insertConstraints } from '../catalog/constraints.ts'
import type { FastifyInstance } from 'fastify'
import { requireAuth } from '../auth/plugin.ts'
import { newId, now } from '../catalog/db.ts'
import type { ReleaseConstraintRow } from '../catalog/types.ts'
import { accountLink, accountRelationship, linkageList, relationship, sendDocument } from './jsonapi.ts'
import { findManageableRelease, findRelease } from './lookup.ts'
import { parseConstraints } from './releases.ts'

function constraintResource(row: ReleaseConstraintRow) {
  const self = `${accountLink(row.account_id)}/releases/${row.release_id}/constraints/${row.id}`
  return {
    id: row.id,
    type: 'constraints',
    attributes: { created: row.created_at, updated: row.updated_at },
    relationships: {
      account: accountRelationship(row.account_id),
      entitlement: relationship(row.account_id, `${accountLink(row.account_id)}/entitlements/${row.entitlement_id}`, {
        type: 'entitlements',
        id: row.entitlement_id,
      }),
      release: relationship(row.account_id, `${accountLink(row.account_id)}/releases/${row.release_id}`, {
        type: 'releases',
        id: row.release_id,
      }),
    },
    links: { self },
  }
}

/**
 * A release's entitlement constraints: list, attach and detach. A customer needs every constraining
 * entitlement to see the release. see: ../shared/spec/management-api.md §1.6
 */
export async function constraintRoutes(fastify: FastifyInstance) {
  const { db } = fastify.catalog
  const list = (releaseId: string) => constraintsOfRelease(db, releaseId)

  fastify.get<{ Params: { id: string } }>('/releases/:id/constraints', async (request, reply) => {
    requireAuth(request)
    const { row } = await findRelease(request, request.params.id)
    return sendDocument(request, reply, 200, { data: (await list(row.id)).map(constraintResource) })
  })

  fastify.post<{ Params: { id: string } }>('/releases/:id/constraints', async (request, reply) => {
    requireAuth(request)
    const { row } = await findManageableRelease(request, request.params.id)
    const entitlementIds = await parseConstraints(db, row.account_id, request.body)
    const existing = new Set((await list(row.id)).map((c) => c.entitlement_id))
    const ts = now()
    const created: ReleaseConstraintRow[] = entitlementIds
      .filter((id) => !existing.has(id))
      .map((entitlementId) => ({
        id: newId(),
        account_id: row.account_id,
        release_id: row.id,
        entitlement_id: entitlementId,
        created_at: ts,
        updated_at: ts,
      }))
    await writeCatalog(
      db,
      row.account_id,
      async (trx) => {
        if (created.length) await insertConstraints(trx, created)
      },
      'content',
    )
    return sendDocument(request, reply, 200, { data: created.map(constraintResource) })
  })

  fastify.delete<{ Params: { id: string } }>('/releases/:id/constraints', async (request, reply) => {
    requireAuth(request)
    const { row } = await findManageableRelease(request, request.params.id)
    const ids = linkageList(request.body, 'constraints', 20).map((i) => i.toLowerCase())
    await writeCatalog(
      db,
      row.account_id,
      async (trx) => {
        await deleteConstraints(trx, row.id, ids)
      },
      'content',
    )
    return reply.code(204).send()
  })
}
