import type { FastifyInstance, FastifyRequest } from 'fastify'
import { packageInScope } from '../auth/policy.ts'
import { isUuid } from '../catalog/accounts.ts'
import type { EngineRow } from '../catalog/types.ts'
import { notFound } from '../errors.ts'
import { sendDocument } from './jsonapi.ts'
import { paginate, parsePage, sortByCreated } from './pagination.ts'
import { engineResource } from './serializers.ts'

/**
 * visibleEngines lists the account's engines that have at least one package the caller can see; an engine no
 * visible package uses is invisible to everyone, admins included. see: ../shared/spec/engines.md §2.1
 */
async function visibleEngines(request: FastifyRequest): Promise<EngineRow[]> {
  const { db } = request.server.catalog
  const accountId = request.account.id
  const packages = await db
    .selectFrom('packages')
    .innerJoin('products', 'products.id', 'packages.product_id')
    .select(['packages.engine', 'packages.product_id', 'products.distribution_strategy'])
    .where('packages.account_id', '=', accountId)
    .where('packages.engine', 'is not', null)
    .execute()
  const used = new Set(
    packages
      .filter((p) => packageInScope(request.principal, { productId: p.product_id, strategy: p.distribution_strategy }))
      .map((p) => p.engine),
  )
  const engines = await db.selectFrom('engines').selectAll().where('account_id', '=', accountId).execute()
  return engines.filter((e) => used.has(e.key))
}

export async function engineRoutes(fastify: FastifyInstance) {
  fastify.get('/engines', async (request, reply) => {
    const page = parsePage(request.query)
    const { items, links } = paginate(request, sortByCreated(await visibleEngines(request), page.order), page)
    return sendDocument(request, reply, 200, { data: items.map(engineResource), links })
  })
  fastify.get<{ Params: { id: string } }>('/engines/:id', async (request, reply) => {
    const alias = request.params.id
    const engine = (await visibleEngines(request))
      .sort((a, b) => (a.created_at < b.created_at ? -1 : 1))
      .find((e) => (isUuid(alias) ? e.id === alias.toLowerCase() : e.key === alias))
    if (!engine) throw notFound(`The requested release engine '${alias}' was not found`)
    return sendDocument(request, reply, 200, { data: engineResource(engine) })
  })
}
