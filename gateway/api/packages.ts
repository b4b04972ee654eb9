import type { FastifyInstance, FastifyRequest } from 'fastify'
import { packageByAlias, productByAlias } from '../catalog/aliases.ts'
import { canManageProduct, canShowPackage, packageInScope } from '../auth/policy.ts'
import { requireAuth } from '../auth/plugin.ts'
import { isUuid, writeCatalog } from '../catalog/accounts.ts'
import { newId, now } from '../catalog/db.ts'
import { ensureEngine } from '../catalog/engines.ts'
import { deletePackage, insertPackage, updatePackage } from '../catalog/packages.ts'
import { packageHasReleases } from '../catalog/releases.ts'
import type { EngineKey, PackageRow } from '../catalog/types.ts'
import { ENGINE_KEYS } from '../catalog/types.ts'
import { badRequest, forbidden, GatewayError, notFound } from '../errors.ts'
import { checkAlias } from './attributes.ts'
import {
  type AttrSpecs,
  metadataIn,
  parseResource,
  relationshipId,
  sendDocument,
  unprocessableAttr,
} from './jsonapi.ts'
import { findPackage, findProduct, snapshotOf } from './lookup.ts'
import { param, parsePage } from './pagination.ts'
import { sendList } from './list.ts'
import { packageResource } from './serializers.ts'
import { insertUnique } from './unique.ts'

/** Packages: a product's named release streams, each served by at most one engine. */

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

const packageAttrs: AttrSpecs = {
  name: { kind: 'string', max: 255 },
  key: { kind: 'string', max: 255 },
  engine: { kind: 'string', nullable: true },
  metadata: { kind: 'object', nullable: true },
}

export async function packageRoutes(fastify: FastifyInstance) {
  const { db } = fastify.catalog
  const load = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    const snap = await snapshotOf(request)
    const pkg = findPackage(snap, request.params.id)
    const strategy = pkg && snap.productsById.get(pkg.product_id)?.distribution_strategy
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
    const other = await packageByAlias(db, accountId, normalized)
    if (other && other.id !== selfId)
      throw unprocessableAttr('KEY_TAKEN', 'has already been taken', '/data/attributes/key')
    return normalized
  }

  fastify.get('/packages', async (request, reply) => {
    const page = parsePage(request.query)
    const product = param(request.query, 'product')
    const engine = param(request.query, 'engine')
    const snap = await snapshotOf(request)
    let rows = snap.packages.filter((p) => {
      const strategy = snap.productsById.get(p.product_id)?.distribution_strategy
      return strategy !== undefined && packageInScope(request.principal, { productId: p.product_id, strategy })
    })
    if (product !== undefined) {
      const found = findProduct(snap, product)
      rows = rows.filter((p) => p.product_id === found?.id)
    }
    if (engine !== undefined) rows = rows.filter((p) => (engine === '' ? p.engine === null : p.engine === engine))
    return sendList(request, reply, page, rows, packageResource)
  })
  fastify.get<{ Params: { id: string } }>('/packages/:id', async (request, reply) =>
    sendDocument(request, reply, 200, { data: packageResource(await load(request)) }),
  )
  fastify.post('/packages', async (request, reply) => {
    requireAuth(request)
    const input = parseResource(request.body, 'packages', packageAttrs, ['product'])
    const a = input.attributes
    const productId = relationshipId(input, 'product', 'products')
    const product = productId && isUuid(productId) ? await productByAlias(db, request.account.id, productId) : undefined
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
    await writeCatalog(
      db,
      row.account_id,
      async (trx) => {
        await insertUnique(() => insertPackage(trx, row))
        await ensureEngine(trx, row.account_id, engine)
      },
      'content',
    )
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
    await writeCatalog(
      db,
      pkg.account_id,
      async (trx) => {
        await insertUnique(() => updatePackage(trx, pkg.id, patch))
        await ensureEngine(trx, pkg.account_id, engine)
      },
      'content',
    )
    return sendDocument(request, reply, 200, { data: packageResource({ ...pkg, ...patch }) })
  })
  fastify.delete<{ Params: { id: string } }>('/packages/:id', async (request, reply) => {
    requireAuth(request)
    const pkg = await load(request)
    if (!canManageProduct(request.principal, pkg.product_id)) throw forbidden()
    // Its releases would silently become package-less and collide with existing ones: delete those first.
    if (await packageHasReleases(db, pkg.id)) {
      throw new GatewayError('PACKAGE_HAS_RELEASES', 'package still has releases (delete them first)', 422, {
        title: 'Unprocessable resource',
      })
    }
    await writeCatalog(
      db,
      pkg.account_id,
      async (trx) => {
        await deletePackage(trx, pkg.id)
      },
      'content',
    )
    return reply.code(204).send()
  })
}
