import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { requireAuth } from '../auth/plugin.ts'
import { licensesOf } from '../auth/policy.ts'
import { visibleEngines as readEngines } from '../read-model/lookup.ts'
import { isUuid } from '../catalog/accounts.ts'
import type { EngineRow } from '../catalog/types.ts'
import { notFound } from '../errors.ts'
import { sendDocument } from './jsonapi.ts'
import { findProduct, snapshotOf } from './lookup.ts'
import { parsePage } from './pagination.ts'
import { sendList } from './list.ts'
import { engineResource } from './serializers.ts'

/** visibleEngines lists the account's engines that have a package the caller can see (engines.md §2.1). */
async function visibleEngines(request: FastifyRequest, productId?: string): Promise<EngineRow[]> {
  return readEngines(await snapshotOf(request), request.principal, productId)
}

function sendEngines(request: FastifyRequest, reply: FastifyReply, engines: EngineRow[]) {
  const page = parsePage(request.query)
  return sendList(request, reply, page, engines, engineResource)
}

async function showEngine(request: FastifyRequest, reply: FastifyReply, alias: string, productId?: string) {
  const engine = (await visibleEngines(request, productId))
    .sort((a, b) => (a.created_at < b.created_at ? -1 : 1))
    .find((e) => (isUuid(alias) ? e.id === alias.toLowerCase() : e.key === alias))
  if (!engine) throw notFound(`The requested release engine '${alias}' was not found`)
  return sendDocument(request, reply, 200, { data: engineResource(engine) })
}

/**
 * productOf resolves `/products/:id/engines`: authentication is required, and the product must be visible to the
 * caller (staff, the product itself, its licenses and their users, or anyone for an OPEN product).
 */
async function productOf(request: FastifyRequest<{ Params: { id: string } }>) {
  requireAuth(request)
  const product = findProduct(await snapshotOf(request), request.params.id)
  const p = request.principal
  const visible =
    product &&
    (p.kind === 'staff' ||
      (p.kind === 'product' && p.productId === product.id) ||
      (product.distribution_strategy === 'OPEN' && p.kind !== 'product') ||
      licensesOf(p).some((l) => l.productId === product.id))
  if (!product || !visible) throw notFound(`The requested product '${request.params.id}' was not found`)
  return product
}

export async function engineRoutes(fastify: FastifyInstance) {
  fastify.get('/engines', async (request, reply) => sendEngines(request, reply, await visibleEngines(request)))
  fastify.get<{ Params: { id: string } }>('/engines/:id', (request, reply) =>
    showEngine(request, reply, request.params.id),
  )
  fastify.get<{ Params: { id: string } }>('/products/:id/engines', async (request, reply) =>
    sendEngines(request, reply, await visibleEngines(request, (await productOf(request)).id)),
  )
  fastify.get<{ Params: { id: string; engine: string } }>('/products/:id/engines/:engine', async (request, reply) =>
    showEngine(request, reply, request.params.engine, (await productOf(request)).id),
  )
}
