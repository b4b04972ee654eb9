import type { FastifyInstance, FastifyRequest } from 'fastify'
import { canManageProduct, canShowPackage, licensesOf, packageInScope } from '../auth/policy.ts'
import type { Principal } from '../auth/principal.ts'
import { requireAuth } from '../auth/plugin.ts'
import { type Executor, isUuid, writeCatalog } from '../catalog/accounts.ts'
import { newId, now } from '../catalog/db.ts'
import type { EngineKey, EntitlementRow, PackageRow, ProductRow } from '../catalog/types.ts'
import { ENGINE_KEYS } from '../catalog/types.ts'
import { badRequest, forbidden, notFound } from '../errors.ts'
import {
  type AttrSpecs,
  metadataIn,
  parseResource,
  relationshipId,
  sendDocument,
  unprocessableAttr,
} from './jsonapi.ts'
import { findEntitlement, findPackage, findProduct } from './lookup.ts'
import { paginate, param, parsePage, sortByCreated } from './pagination.ts'
import { entitlementResource, packageResource, productResource } from './serializers.ts'
import { insertUnique } from './unique.ts'
import { isAdmin, requireAdmin } from './roles.ts'

/** Products, packages and entitlements: the catalog a vendor sets up before publishing releases. */

const RESERVED = new Set(['action', 'actions'])
const STRATEGIES = ['LICENSED', 'OPEN', 'CLOSED'] as const

/** checkAlias validates a code or key: not blank, not UUID-shaped, not reserved. */
function checkAlias(value: unknown, attr: string): string {
  const pointer = `/data/attributes/${attr}`
  const v = value as string
  if (v.trim() === '') throw unprocessableAttr(`${attr.toUpperCase()}_BLANK`, "can't be blank", pointer)
  if (isUuid(v)) throw unprocessableAttr(`${attr.toUpperCase()}_INVALID`, 'must not be a UUID', pointer)
  if (RESERVED.has(v.toLowerCase()))
    throw unprocessableAttr(`${attr.toUpperCase()}_NOT_ALLOWED`, 'is reserved', pointer)
  return v
}

/** normalizeKey applies PEP 503's separator folding to PyPI package keys (case is kept, as Keygen does). */
export function normalizeKey(key: string, engine: EngineKey | null): string {
  return engine === 'pypi' ? key.replace(/[-_.]+/g, '-') : key
}

function checkEngine(value: unknown): EngineKey | null {
  if (value === null || value === undefined) return null
  if (!ENGINE_KEYS.includes(value as EngineKey)) {
    throw unprocessableAttr(
      'ENGINE_NOT_ALLOWED',
      `must be one of: ${ENGINE_KEYS.join(', ')}`,
      '/data/attributes/engine',
    )
  }
  return value as EngineKey
}

/** ensureEngine creates the account's engine row the first time a package uses an engine. */
async function ensureEngine(db: Executor, accountId: string, engine: EngineKey | null) {
  if (!engine) return
  const ts = now()
  await db
    .insertInto('engines')
    .values({ id: newId(), account_id: accountId, key: engine, name: null, created_at: ts, updated_at: ts })
    .onConflict((oc) => oc.columns(['account_id', 'key']).doNothing())
    .execute()
}

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
      const other = await findProduct(db, accountId, code)
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

async function productRoutes(fastify: FastifyInstance) {
  const { db } = fastify.catalog
  const load = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    requireAuth(request)
    const product = await findProduct(db, request.account.id, request.params.id)
    if (!product || !productVisible(request.principal, product)) {
      throw notFound(`The requested product '${request.params.id}' was not found`)
    }
    return product
  }

  fastify.get('/products', async (request, reply) => {
    requireAuth(request)
    const page = parsePage(request.query)
    const rows = (
      await db.selectFrom('products').selectAll().where('account_id', '=', request.account.id).execute()
    ).filter((p) => productVisible(request.principal, p))
    const { items, links } = paginate(request, sortByCreated(rows, page.order), page)
    return sendDocument(request, reply, 200, { data: items.map(productResource), links })
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
      await insertUnique(() => trx.insertInto('products').values(row).execute())
    })
    return sendDocument(request, reply, 201, { data: productResource(row) })
  })
  fastify.patch<{ Params: { id: string } }>('/products/:id', async (request, reply) => {
    const product = await load(request)
    if (!isAdmin(request.principal) && !canManageProduct(request.principal, product.id)) throw forbidden()
    const input = parseResource(request.body, 'products', productAttrs)
    const patch = { ...(await productPatch(db, request.account.id, input.attributes, product.id)), updated_at: now() }
    await writeCatalog(db, product.account_id, async (trx) => {
      await insertUnique(() => trx.updateTable('products').set(patch).where('id', '=', product.id).execute())
    })
    return sendDocument(request, reply, 200, { data: productResource({ ...product, ...patch }) })
  })
  fastify.delete<{ Params: { id: string } }>('/products/:id', async (request, reply) => {
    const product = await load(request)
    requireAdmin(request)
    await writeCatalog(db, product.account_id, async (trx) => {
      await trx.deleteFrom('products').where('id', '=', product.id).execute()
    })
    return reply.code(204).send()
  })
}

const packageAttrs: AttrSpecs = {
  name: { kind: 'string', max: 255 },
  key: { kind: 'string', max: 255 },
  engine: { kind: 'string', nullable: true },
  metadata: { kind: 'object', nullable: true },
}

async function packageRoutes(fastify: FastifyInstance) {
  const { db } = fastify.catalog
  const strategies = async (accountId: string) =>
    new Map(
      (
        await db
          .selectFrom('products')
          .select(['id', 'distribution_strategy'])
          .where('account_id', '=', accountId)
          .execute()
      ).map((p) => [p.id, p.distribution_strategy]),
    )
  const load = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    const pkg = await findPackage(db, request.account.id, request.params.id)
    const strategy = pkg && (await strategies(request.account.id)).get(pkg.product_id)
    const facts = pkg && strategy ? { productId: pkg.product_id, strategy } : undefined
    if (!pkg || !facts || !packageInScope(request.principal, facts)) {
      throw notFound(`The requested package '${request.params.id}' was not found`)
    }
    const decision = canShowPackage(request.principal, facts)
    if (!decision.allow) throw forbidden(decision.reason)
    return pkg
  }
  const checkKey = async (accountId: string, key: string, engine: EngineKey | null, selfId?: string) => {
    const normalized = normalizeKey(checkAlias(key, 'key'), engine)
    const other = await findPackage(db, accountId, normalized)
    if (other && other.id !== selfId)
      throw unprocessableAttr('KEY_TAKEN', 'has already been taken', '/data/attributes/key')
    return normalized
  }

  fastify.get('/packages', async (request, reply) => {
    const page = parsePage(request.query)
    const product = param(request.query, 'product')
    const engine = param(request.query, 'engine')
    const byProduct = await strategies(request.account.id)
    let rows = (
      await db.selectFrom('packages').selectAll().where('account_id', '=', request.account.id).execute()
    ).filter((p) =>
      packageInScope(request.principal, { productId: p.product_id, strategy: byProduct.get(p.product_id)! }),
    )
    if (product !== undefined) {
      const found = await findProduct(db, request.account.id, product)
      rows = rows.filter((p) => p.product_id === found?.id)
    }
    if (engine !== undefined) rows = rows.filter((p) => (engine === '' ? p.engine === null : p.engine === engine))
    const { items, links } = paginate(request, sortByCreated(rows, page.order), page)
    return sendDocument(request, reply, 200, { data: items.map(packageResource), links })
  })
  fastify.get<{ Params: { id: string } }>('/packages/:id', async (request, reply) =>
    sendDocument(request, reply, 200, { data: packageResource(await load(request)) }),
  )
  fastify.post('/packages', async (request, reply) => {
    requireAuth(request)
    const input = parseResource(request.body, 'packages', packageAttrs, ['product'])
    const a = input.attributes
    const productId = relationshipId(input, 'product', 'products')
    const product = productId && isUuid(productId) ? await findProduct(db, request.account.id, productId) : undefined
    if (!product) throw unprocessableAttr('PRODUCT_NOT_FOUND', 'must exist', '/data/relationships/product')
    if (!canManageProduct(request.principal, product.id)) throw forbidden()
    for (const attr of ['name', 'key']) {
      if (a[attr] === undefined)
        throw badRequest('is missing', { pointer: `/data/attributes/${attr}` }, 'PARAMETER_MISSING')
    }
    const engine = checkEngine(a.engine)
    const ts = now()
    const row: PackageRow = {
      id: newId(),
      account_id: request.account.id,
      product_id: product.id,
      name: a.name as string,
      key: await checkKey(request.account.id, a.key as string, engine),
      engine,
      metadata: a.metadata === undefined ? '{}' : metadataIn(a.metadata, '/data/attributes/metadata'),
      created_at: ts,
      updated_at: ts,
    }
    await writeCatalog(db, row.account_id, async (trx) => {
      await insertUnique(() => trx.insertInto('packages').values(row).execute())
      await ensureEngine(trx, row.account_id, engine)
    })
    reply.header('Location', `/v1/accounts/${row.account_id}/packages/${row.id}`)
    return sendDocument(request, reply, 201, { data: packageResource(row) })
  })
  fastify.patch<{ Params: { id: string } }>('/packages/:id', async (request, reply) => {
    requireAuth(request)
    const pkg = await load(request)
    if (!canManageProduct(request.principal, pkg.product_id)) throw forbidden()
    const a = parseResource(request.body, 'packages', packageAttrs).attributes
    const patch: Partial<PackageRow> = { updated_at: now() }
    if ('engine' in a) patch.engine = checkEngine(a.engine)
    const engine = patch.engine !== undefined ? patch.engine : pkg.engine
    if ('name' in a) patch.name = a.name as string
    if ('key' in a || 'engine' in a)
      patch.key = await checkKey(pkg.account_id, (a.key as string) ?? pkg.key, engine, pkg.id)
    if ('metadata' in a) patch.metadata = metadataIn(a.metadata, '/data/attributes/metadata')
    await writeCatalog(db, pkg.account_id, async (trx) => {
      await insertUnique(() => trx.updateTable('packages').set(patch).where('id', '=', pkg.id).execute())
      await ensureEngine(trx, pkg.account_id, engine)
    })
    return sendDocument(request, reply, 200, { data: packageResource({ ...pkg, ...patch }) })
  })
  fastify.delete<{ Params: { id: string } }>('/packages/:id', async (request, reply) => {
    requireAuth(request)
    const pkg = await load(request)
    if (!canManageProduct(request.principal, pkg.product_id)) throw forbidden()
    await writeCatalog(db, pkg.account_id, async (trx) => {
      await trx.deleteFrom('packages').where('id', '=', pkg.id).execute()
    })
    return reply.code(204).send()
  })
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

async function entitlementRoutes(fastify: FastifyInstance) {
  const { db } = fastify.catalog
  const load = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    requireAuth(request)
    const row = await findEntitlement(db, request.account.id, request.params.id)
    if (!row || !entitlementVisible(request.principal, row)) {
      throw notFound(`The requested entitlement '${request.params.id}' was not found`)
    }
    return row
  }
  const checkCode = async (accountId: string, code: unknown, selfId?: string) => {
    const c = checkAlias(code, 'code')
    const other = await findEntitlement(db, accountId, c)
    if (other && other.id !== selfId)
      throw unprocessableAttr('CODE_TAKEN', 'has already been taken', '/data/attributes/code')
    return c
  }
  fastify.get('/entitlements', async (request, reply) => {
    requireAuth(request)
    const page = parsePage(request.query)
    const rows = (
      await db.selectFrom('entitlements').selectAll().where('account_id', '=', request.account.id).execute()
    ).filter((e) => entitlementVisible(request.principal, e))
    const { items, links } = paginate(request, sortByCreated(rows, page.order), page)
    return sendDocument(request, reply, 200, { data: items.map(entitlementResource), links })
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
      await insertUnique(() => trx.insertInto('entitlements').values(row).execute())
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
      await insertUnique(() => trx.updateTable('entitlements').set(patch).where('id', '=', row.id).execute())
    })
    return sendDocument(request, reply, 200, { data: entitlementResource({ ...row, ...patch }) })
  })
  fastify.delete<{ Params: { id: string } }>('/entitlements/:id', async (request, reply) => {
    const row = await load(request)
    requireAdmin(request)
    await writeCatalog(db, row.account_id, async (trx) => {
      await trx.deleteFrom('entitlements').where('id', '=', row.id).execute()
    })
    return reply.code(204).send()
  })
}

export async function catalogRoutes(fastify: FastifyInstance) {
  await fastify.register(productRoutes)
  await fastify.register(packageRoutes)
  await fastify.register(entitlementRoutes)
}
