import type { FastifyInstance, FastifyRequest } from 'fastify'
import { entitlementByAlias } from '../catalog/aliases.ts'
import { licensesOf } from '../auth/policy.ts'
import type { Principal } from '../auth/principal.ts'
import { requireAuth } from '../auth/plugin.ts'
import { type Executor, isUuid, writeCatalog } from '../catalog/accounts.ts'
import { newId, now } from '../catalog/db.ts'
import {
  deleteEntitlement,
  entitlementIdsIn,
  insertEntitlement,
  linkEntitlement,
  updateEntitlement,
} from '../catalog/entitlements.ts'
import type { EntitlementRow } from '../catalog/types.ts'
import { badRequest, notFound } from '../errors.ts'
import { checkAlias } from './attributes.ts'
import { type AttrSpecs, metadataIn, parseResource, sendDocument, unprocessableAttr } from './jsonapi.ts'
import { findEntitlement, snapshotOf } from './lookup.ts'
import { parsePage } from './pagination.ts'
import { sendList } from './list.ts'
import { requireAdmin } from './roles.ts'
import { entitlementResource } from './serializers.ts'
import { insertUnique } from './unique.ts'

/** Entitlements, and attaching them to policies and licenses. */

/** attachEntitlements links entitlements to a policy or license; unknown ids are a 422. */
export async function attachEntitlements(
  db: Executor,
  accountId: string,
  table: 'policy_entitlements' | 'license_entitlements',
  column: 'policy_id' | 'license_id',
  ownerId: string,
  ids: string[],
) {
  const valid = ids.filter(isUuid).map((i) => i.toLowerCase())
  const found = valid.length ? await entitlementIdsIn(db, accountId, valid) : []
  if (found.length !== new Set(ids).size)
    throw unprocessableAttr('ENTITLEMENT_NOT_FOUND', 'entitlement must exist', '/data')
  const ts = now()
  for (const { id } of found) {
    await linkEntitlement(db, table, column, { accountId, ownerId, entitlementId: id, ts })
  }
}

const entitlementAttrs: AttrSpecs = {
  name: { kind: 'string', max: 255 },
  code: { kind: 'string', max: 255 },
  metadata: { kind: 'object', nullable: true },
}

/** Entitlements a principal may read: staff and products all, licenses and users their own. */
function entitlementVisible(p: Principal, e: EntitlementRow): boolean {
  if (p.kind === 'staff' || p.kind === 'product') return true
  return licensesOf(p).some((l) => l.entitlementIds.has(e.id))
}

export async function entitlementRoutes(fastify: FastifyInstance) {
  const { db } = fastify.catalog
  const load = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    requireAuth(request)
    const row = findEntitlement(await snapshotOf(request), request.params.id)
    if (!row || !entitlementVisible(request.principal, row)) {
      throw notFound(`The requested entitlement '${request.params.id}' was not found`)
    }
    return row
  }
  const checkCode = async (accountId: string, code: unknown, selfId?: string) => {
    const c = checkAlias(code, 'code')
    const other = await entitlementByAlias(db, accountId, c)
    if (other && other.id !== selfId)
      throw unprocessableAttr('CODE_TAKEN', 'has already been taken', '/data/attributes/code')
    return c
  }
  fastify.get('/entitlements', async (request, reply) => {
    requireAuth(request)
    const page = parsePage(request.query)
    const rows = (await snapshotOf(request)).entitlements.filter((e) => entitlementVisible(request.principal, e))
    return sendList(request, reply, page, rows, entitlementResource)
  })
  fastify.get<{ Params: { id: string } }>('/entitlements/:id', async (request, reply) =>
    sendDocument(request, reply, 200, { data: entitlementResource(await load(request)) }),
  )
  fastify.post('/entitlements', async (request, reply) => {
    requireAdmin(request)
    const a = parseResource(request.body, 'entitlements', entitlementAttrs).attributes
    for (const attr of ['name', 'code']) {
      if (a[attr] === undefined)
        throw badRequest('is missing', { pointer: `/data/attributes/${attr}` }, 'PARAMETER_MISSING')
    }
    const code = await checkCode(request.account.id, a.code)
    const ts = now()
    const row: EntitlementRow = {
      id: newId(),
      account_id: request.account.id,
      name: a.name as string,
      code,
      code_key: code.toLowerCase(),
      metadata: a.metadata === undefined ? '{}' : metadataIn(a.metadata, '/data/attributes/metadata'),
      created_at: ts,
      updated_at: ts,
    }
    await writeCatalog(db, row.account_id, async (trx) => {
      await insertUnique(() => insertEntitlement(trx, row))
    })
    return sendDocument(request, reply, 201, { data: entitlementResource(row) })
  })
  fastify.patch<{ Params: { id: string } }>('/entitlements/:id', async (request, reply) => {
    const row = await load(request)
    requireAdmin(request)
    const a = parseResource(request.body, 'entitlements', entitlementAttrs).attributes
    const patch: Partial<EntitlementRow> = { updated_at: now() }
    if ('name' in a) patch.name = a.name as string
    if ('code' in a) {
      patch.code = await checkCode(row.account_id, a.code, row.id)
      patch.code_key = patch.code.toLowerCase()
    }
    if ('metadata' in a) patch.metadata = metadataIn(a.metadata, '/data/attributes/metadata')
    await writeCatalog(db, row.account_id, async (trx) => {
      await insertUnique(() => updateEntitlement(trx, row.id, patch))
    })
    return sendDocument(request, reply, 200, { data: entitlementResource({ ...row, ...patch }) })
  })
  fastify.delete<{ Params: { id: string } }>('/entitlements/:id', async (request, reply) => {
    const row = await load(request)
    requireAdmin(request)
    await writeCatalog(db, row.account_id, async (trx) => {
      await deleteEntitlement(trx, row.id)
    })
    return reply.code(204).send()
  })
}
