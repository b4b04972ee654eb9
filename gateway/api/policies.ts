import { canManageProduct } from '../auth/policy.ts'
import { productByAlias } from '../catalog/aliases.ts'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { requireAuth } from '../auth/plugin.ts'
import { isUuid, writeCatalog } from '../catalog/accounts.ts'
import { newId, now } from '../catalog/db.ts'
import { deletePolicy, insertPolicy, listPolicies, policyById, updatePolicy } from '../catalog/policies.ts'
import type { PolicyRow } from '../catalog/types.ts'
import { forbidden, notFound } from '../errors.ts'
import { oneOf, required } from './attributes.ts'
import { attachEntitlements } from './entitlements.ts'
import {
  type AttrSpecs,
  linkageList,
  metadataIn,
  parseResource,
  relationshipId,
  sendDocument,
  unprocessableAttr,
} from './jsonapi.ts'
import { parsePage } from './pagination.ts'
import { sendList } from './list.ts'
import { policyResource } from './serializers.ts'

/** Policies: expiry and authentication rules shared by a product's licenses. */

const EXPIRATION = ['REVOKE_ACCESS', 'RESTRICT_ACCESS', 'MAINTAIN_ACCESS', 'ALLOW_ACCESS'] as const
const AUTHENTICATION = ['TOKEN', 'LICENSE', 'MIXED', 'NONE'] as const

const policyAttrs: AttrSpecs = {
  name: { kind: 'string', max: 255 },
  duration: { kind: 'integer', nullable: true },
  expirationStrategy: { kind: 'string' },
  authenticationStrategy: { kind: 'string' },
  metadata: { kind: 'object', nullable: true },
}

function policyPatch(a: Record<string, unknown>): Partial<PolicyRow> {
  const patch: Partial<PolicyRow> = {}
  if ('name' in a) patch.name = a.name as string
  if ('duration' in a) {
    if (a.duration !== null && (a.duration as number) < 86400) {
      throw unprocessableAttr(
        'DURATION_INVALID',
        'must be greater than or equal to 86400 (1 day)',
        '/data/attributes/duration',
      )
    }
    patch.duration = a.duration as number | null
  }
  if ('expirationStrategy' in a)
    patch.expiration_strategy = oneOf(a.expirationStrategy, EXPIRATION, 'expirationStrategy')
  if ('authenticationStrategy' in a) {
    patch.authentication_strategy = oneOf(a.authenticationStrategy, AUTHENTICATION, 'authenticationStrategy')
  }
  if ('metadata' in a) patch.metadata = metadataIn(a.metadata, '/data/attributes/metadata')
  return patch
}

export async function policyRoutes(fastify: FastifyInstance) {
  const { db } = fastify.catalog
  const load = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    requireAuth(request)
    const row = isUuid(request.params.id)
      ? await policyById(db, request.account.id, request.params.id.toLowerCase())
      : undefined
    if (!row || !canManageProduct(request.principal, row.product_id))
      throw notFound(`The requested policy '${request.params.id}' was not found`)
    return row
  }
  fastify.get('/policies', async (request, reply) => {
    requireAuth(request)
    const page = parsePage(request.query)
    const rows = (await listPolicies(db, request.account.id)).filter((r) =>
      canManageProduct(request.principal, r.product_id),
    )
    return sendList(request, reply, page, rows, policyResource)
  })
  fastify.get<{ Params: { id: string } }>('/policies/:id', async (request, reply) =>
    sendDocument(request, reply, 200, { data: policyResource(await load(request)) }),
  )
  fastify.post('/policies', async (request, reply) => {
    requireAuth(request)
    const input = parseResource(request.body, 'policies', policyAttrs, ['product'])
    required(input.attributes, 'name')
    const productId = relationshipId(input, 'product', 'products')
    const product = productId && isUuid(productId) ? await productByAlias(db, request.account.id, productId) : undefined
    if (!product) throw unprocessableAttr('PRODUCT_NOT_FOUND', 'must exist', '/data/relationships/product')
    if (!canManageProduct(request.principal, product.id)) throw forbidden()
    const ts = now()
    const row: PolicyRow = {
      id: newId(),
      account_id: request.account.id,
      product_id: product.id,
      name: '',
      duration: null,
      expiration_strategy: 'RESTRICT_ACCESS',
      authentication_strategy: 'TOKEN',
      metadata: '{}',
      created_at: ts,
      updated_at: ts,
      ...policyPatch(input.attributes),
    }
    await writeCatalog(
      db,
      row.account_id,
      async (trx) => {
        await insertPolicy(trx, row)
      },
      'auth',
    )
    return sendDocument(request, reply, 201, { data: policyResource(row) })
  })
  fastify.patch<{ Params: { id: string } }>('/policies/:id', async (request, reply) => {
    const row = await load(request)
    const patch = { ...policyPatch(parseResource(request.body, 'policies', policyAttrs).attributes), updated_at: now() }
    await writeCatalog(
      db,
      row.account_id,
      async (trx) => {
        await updatePolicy(trx, row.id, patch)
      },
      'auth',
    )
    return sendDocument(request, reply, 200, { data: policyResource({ ...row, ...patch }) })
  })
  fastify.delete<{ Params: { id: string } }>('/policies/:id', async (request, reply) => {
    const row = await load(request)
    await writeCatalog(
      db,
      row.account_id,
      async (trx) => {
        await deletePolicy(trx, row.id)
      },
      'auth',
    )
    return reply.code(204).send()
  })
  fastify.post<{ Params: { id: string } }>('/policies/:id/entitlements', async (request, reply) => {
    const row = await load(request)
    const ids = linkageList(request.body, 'entitlements')
    await writeCatalog(
      db,
      row.account_id,
      async (trx) => {
        await attachEntitlements(trx, row.account_id, 'policy_entitlements', 'policy_id', row.id, ids)
      },
      'auth',
    )
    return sendDocument(request, reply, 200, { data: policyResource(row) })
  })
}
