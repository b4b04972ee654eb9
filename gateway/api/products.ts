import { releasePrefixes } from '../storage/keys.ts'
import { productByAlias } from '../catalog/aliases.ts'
import { removeBlobs } from './blob-cleanup.ts'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { licensesOf } from '../auth/policy.ts'
import type { Principal } from '../auth/principal.ts'
import { requireAuth } from '../auth/plugin.ts'
import { type Executor, writeCatalog } from '../catalog/accounts.ts'
import { newId, now } from '../catalog/db.ts'
import { deleteProduct, insertProduct, updateProduct } from '../catalog/products.ts'
import { releaseIdsOfProduct } from '../catalog/releases.ts'
import type { ProductRow } from '../catalog/types.ts'
import { badRequest, notFound } from '../errors.ts'
import { checkAlias } from './attributes.ts'
import { type AttrSpecs, metadataIn, parseResource, sendDocument, unprocessableAttr } from './jsonapi.ts'
import { findProduct, snapshotOf } from './lookup.ts'
import { parsePage } from './pagination.ts'
import { sendList } from './list.ts'
import { requireAdmin } from './roles.ts'
import { productResource } from './serializers.ts'
import { insertUnique } from './unique.ts'

/** Products: what a vendor sells; their distribution strategy decides who may download. */

const STRATEGIES = ['LICENSED', 'OPEN', 'CLOSED'] as const

/** Products a principal may read: staff all, a product itself, licenses and users their licenses' products. */
function productVisible(p: Principal, product: ProductRow): boolean {
  if (p.kind === 'staff') return true
  if (p.kind === 'product') return p.productId === product.id
  return licensesOf(p).some((l) => l.productId === product.id)
}

const productAttrs: AttrSpecs = {
  name: { kind: 'string', max: 255 },
  code: { kind: 'string', nullable: true, max: 255 },
  distributionStrategy: { kind: 'string', nullable: true },
  url: { kind: 'string', nullable: true, max: 255 },
  platforms: { kind: 'string[]', nullable: true },
  metadata: { kind: 'object', nullable: true },
}

async function productPatch(db: Executor, accountId: string, a: Record<string, unknown>, selfId?: string) {
  const patch: Partial<ProductRow> = {}
  if ('name' in a) {
    if (!a.name || (a.name as string).trim() === '')
      throw unprocessableAttr('NAME_BLANK', "can't be blank", '/data/attributes/name')
    patch.name = a.name as string
  }
  if ('code' in a) {
    const code = a.code === null ? null : checkAlias(a.code, 'code')
    if (code) {
      const other = await productByAlias(db, accountId, code)
      if (other && other.id !== selfId)
        throw unprocessableAttr('CODE_TAKEN', 'has already been taken', '/data/attributes/code')
    }
    patch.code = code
    patch.code_key = code?.toLowerCase() ?? null
  }
  if ('distributionStrategy' in a) {
    const s = (a.distributionStrategy as string | null) ?? 'LICENSED'
    if (!STRATEGIES.includes(s as (typeof STRATEGIES)[number])) {
      throw unprocessableAttr(
        'DISTRIBUTION_STRATEGY_NOT_ALLOWED',
        `must be one of: ${STRATEGIES.join(', ')}`,
        '/data/attributes/distributionStrategy',
      )
    }
    patch.distribution_strategy = s as ProductRow['distribution_strategy']
  }
  if ('url' in a) patch.url = a.url as string | null
  if ('platforms' in a) patch.platforms = a.platforms === null ? null : JSON.stringify(a.platforms)
  if ('metadata' in a) patch.metadata = metadataIn(a.metadata, '/data/attributes/metadata')
  return patch
}

export async function productRoutes(fastify: FastifyInstance) {
  const { db } = fastify.catalog
  const load = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    requireAuth(request)
    const product = findProduct(await snapshotOf(request), request.params.id)
    if (!product || !productVisible(request.principal, product)) {
      throw notFound(`The requested product '${request.params.id}' was not found`)
    }
    return product
  }

  fastify.get('/products', async (request, reply) => {
    requireAuth(request)
    const page = parsePage(request.query)
    const rows = (await snapshotOf(request)).products.filter((p) => productVisible(request.principal, p))
    return sendList(request, reply, page, rows, productResource)
  })
  fastify.get<{ Params: { id: string } }>('/products/:id', async (request, reply) =>
    sendDocument(request, reply, 200, { data: productResource(await load(request)) }),
  )
  fastify.post('/products', async (request, reply) => {
    requireAdmin(request)
    const input = parseResource(request.body, 'products', productAttrs)
    if (input.attributes.name === undefined)
      throw badRequest('is missing', { pointer: '/data/attributes/name' }, 'PARAMETER_MISSING')
    const ts = now()
    const row: ProductRow = {
      id: newId(),
      account_id: request.account.id,
      name: '',
      code: null,
      code_key: null,
      distribution_strategy: 'LICENSED',
      url: null,
      platforms: null,
      metadata: '{}',
      created_at: ts,
      updated_at: ts,
      ...(await productPatch(db, request.account.id, input.attributes)),
    }
    await writeCatalog(db, row.account_id, async (trx) => {
      await insertUnique(() => insertProduct(trx, row))
    })
    return sendDocument(request, reply, 201, { data: productResource(row) })
  })
  fastify.patch<{ Params: { id: string } }>('/products/:id', async (request, reply) => {
    const product = await load(request)
    // Products are the account's own settings (a product token may read itself, never widen its distribution).
    requireAdmin(request)
    const input = parseResource(request.body, 'products', productAttrs)
    const patch = { ...(await productPatch(db, request.account.id, input.attributes, product.id)), updated_at: now() }
    await writeCatalog(db, product.account_id, async (trx) => {
      await insertUnique(() => updateProduct(trx, product.id, patch))
    })
    return sendDocument(request, reply, 200, { data: productResource({ ...product, ...patch }) })
  })
  fastify.delete<{ Params: { id: string } }>('/products/:id', async (request, reply) => {
    const product = await load(request)
    requireAdmin(request)
    const releases = await releaseIdsOfProduct(db, product.id)
    await writeCatalog(db, product.account_id, async (trx) => {
      await deleteProduct(trx, product.id)
    })
    // The rows cascade; their stored objects go too, as when a release is deleted.
    await removeBlobs(request, { prefixes: releases.flatMap((r) => releasePrefixes(product.account_id, r.id)) })
    return reply.code(204).send()
  })
}
