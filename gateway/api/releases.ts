import type { FastifyInstance, FastifyRequest } from 'fastify'
import { packageByAlias } from '../catalog/aliases.ts'
import { canManageProduct } from '../auth/policy.ts'
import { requireAuth } from '../auth/plugin.ts'
import { type Executor, isUuid, writeCatalog } from '../catalog/accounts.ts'
import { insertConstraints } from '../catalog/constraints.ts'
import { newId, now } from '../catalog/db.ts'
import { entitlementIdsIn } from '../catalog/entitlements.ts'
import { productById } from '../catalog/products.ts'
import {
  deleteRelease as deleteReleaseRow,
  insertRelease,
  otherReleaseIdWithTag,
  releaseIdWithVersion,
  updateRelease as updateReleaseRow,
} from '../catalog/releases.ts'
import { releasePrefixes } from '../storage/keys.ts'
import type { Channel, ReleaseRow } from '../catalog/types.ts'
import { CHANNELS } from '../catalog/types.ts'
import { channelMismatch, parseVersion } from '../catalog/versions.ts'
import { badRequest, forbidden } from '../errors.ts'
import {
  type AttrSpecs,
  metadataIn,
  parseResource,
  relationshipId,
  sendDocument,
  unprocessableAttr,
} from './jsonapi.ts'
import {
  entitlementIdsOf,
  findManageableRelease,
  findRelease,
  listReleases,
  packagesOfEngine,
  releaseFiltersFromQuery,
  snapshotOf,
} from './lookup.ts'
import { listParam, param, parsePage } from './pagination.ts'
import { sendList } from './list.ts'
import { releaseResource } from './serializers.ts'
import { insertUnique } from './unique.ts'
import { removeBlobs } from './blob-cleanup.ts'

const RESERVED = new Set(['action', 'actions'])

const createAttrs: AttrSpecs = {
  name: { kind: 'string', nullable: true, max: 255 },
  description: { kind: 'string', nullable: true, max: 16384 },
  version: { kind: 'string' },
  channel: { kind: 'string' },
  status: { kind: 'string' },
  tag: { kind: 'string', nullable: true, max: 255 },
  metadata: { kind: 'object', nullable: true },
  backdated: { kind: 'timestamp', nullable: true },
}
const updateAttrs: AttrSpecs = {
  name: createAttrs.name,
  description: createAttrs.description,
  tag: createAttrs.tag,
  metadata: createAttrs.metadata,
  backdated: createAttrs.backdated,
}

type Params = { id: string }

function checkTag(tag: unknown): string | null {
  if (tag === null || tag === undefined) return null
  const t = tag as string
  if (t.trim() === '') return null
  if (RESERVED.has(t.toLowerCase())) throw unprocessableAttr('TAG_NOT_ALLOWED', 'is reserved', '/data/attributes/tag')
  return t
}

function checkBackdated(value: unknown): string | null {
  if (value === null || value === undefined) return null
  const ms = Date.parse(value as string)
  if (ms > Date.now()) throw unprocessableAttr('BACKDATED_INVALID', 'must be in the past', '/data/attributes/backdated')
  return new Date(ms).toISOString()
}

/** checkTagFree rejects a tag already used by another release of the same product and package. */
async function checkTagFree(
  db: Executor,
  release: Pick<ReleaseRow, 'product_id' | 'package_scope' | 'id'>,
  tag: string | null,
) {
  if (tag === null) return
  const other = await otherReleaseIdWithTag(db, release, tag)
  if (other) throw unprocessableAttr('TAG_TAKEN', 'has already been taken', '/data/attributes/tag')
}

export async function parseConstraints(db: Executor, accountId: string, rel: unknown): Promise<string[]> {
  if (rel === undefined) return []
  const data = (rel as { data?: unknown } | null)?.data
  const pointer = '/data/relationships/constraints'
  if (!Array.isArray(data)) throw badRequest('type mismatch (expected array)', { pointer: `${pointer}/data` })
  if (data.length > 20) throw unprocessableAttr('CONSTRAINTS_TOO_MANY', 'too many constraints (maximum is 20)', pointer)
  const ids: string[] = []
  for (const [i, item] of data.entries()) {
    const ent = (item as { relationships?: { entitlement?: { data?: { type?: unknown; id?: unknown } } } } | null)
      ?.relationships?.entitlement?.data
    const id = ent?.id
    if (typeof id !== 'string') {
      throw badRequest('type mismatch (expected entitlement linkage)', { pointer: `${pointer}/data/${i}` })
    }
    if (ids.includes(id.toLowerCase())) {
      throw unprocessableAttr('CONSTRAINTS_ENTITLEMENT_CONFLICT', 'constraint already exists for entitlement', pointer)
    }
    ids.push(id.toLowerCase())
  }
  if (ids.length === 0) return ids
  const found = await entitlementIdsIn(db, accountId, ids.filter(isUuid)).catch(() => [])
  if (found.length !== ids.length) {
    throw unprocessableAttr('CONSTRAINTS_ENTITLEMENT_NOT_FOUND', 'entitlement must exist', `${pointer}`)
  }
  return ids
}

async function createRelease(request: FastifyRequest) {
  requireAuth(request)
  const { db } = request.server.catalog
  const account = request.account
  const input = parseResource(request.body, 'releases', createAttrs, ['product', 'package', 'constraints'])
  const a = input.attributes
  const productId = relationshipId(input, 'product', 'products')
  if (!productId) throw unprocessableAttr('PRODUCT_NOT_FOUND', 'must exist', '/data/relationships/product')
  const product = isUuid(productId) ? await productById(db, account.id, productId.toLowerCase()) : undefined
  if (!product) throw unprocessableAttr('PRODUCT_NOT_FOUND', 'must exist', '/data/relationships/product')
  if (!canManageProduct(request.principal, product.id)) throw forbidden()

  if (a.version === undefined)
    throw badRequest('is missing', { pointer: '/data/attributes/version' }, 'PARAMETER_MISSING')
  const version = parseVersion(a.version as string)
  if (!version) throw unprocessableAttr('VERSION_INVALID', 'must be a valid version', '/data/attributes/version')
  if (a.channel === undefined)
    throw badRequest('is missing', { pointer: '/data/attributes/channel' }, 'PARAMETER_MISSING')
  const channel = a.channel as Channel
  if (!CHANNELS.includes(channel))
    throw unprocessableAttr('CHANNEL_NOT_ALLOWED', 'unsupported channel', '/data/attributes/channel')
  const mismatch = channelMismatch(channel, version)
  if (mismatch) throw unprocessableAttr('VERSION_CHANNEL_INVALID', mismatch, '/data/attributes/version')
  const status = (a.status as string | undefined) ?? 'DRAFT'
  if (status !== 'DRAFT' && status !== 'PUBLISHED') {
    throw unprocessableAttr('STATUS_NOT_ALLOWED', 'must be one of: DRAFT, PUBLISHED', '/data/attributes/status')
  }

  let packageId: string | null = null
  const pkgRef = relationshipId(input, 'package', 'packages')
  if (pkgRef) {
    const pkg = await packageByAlias(db, account.id, pkgRef)
    if (!pkg) throw unprocessableAttr('PACKAGE_NOT_FOUND', 'must exist', '/data/relationships/package')
    if (pkg.product_id !== product.id) {
      throw unprocessableAttr(
        'PACKAGE_NOT_ALLOWED',
        'package product must match release product',
        '/data/relationships/package',
      )
    }
    packageId = pkg.id
  }
  const constraintIds = await parseConstraints(db, account.id, input.relationships.constraints)
  const ts = now()
  const row: ReleaseRow = {
    id: newId(),
    account_id: account.id,
    product_id: product.id,
    package_id: packageId,
    package_scope: packageId ?? '',
    version: version.version,
    semver_major: version.major,
    semver_minor: version.minor,
    semver_patch: version.patch,
    semver_prerelease: version.prerelease,
    semver_build: version.build,
    channel,
    tag: checkTag(a.tag),
    status: status as ReleaseRow['status'],
    name: (a.name as string | null | undefined) ?? null,
    description: (a.description as string | null | undefined) ?? null,
    backdated_to: checkBackdated(a.backdated),
    yanked_at: null,
    metadata: a.metadata === undefined ? '{}' : metadataIn(a.metadata, '/data/attributes/metadata'),
    created_at: ts,
    updated_at: ts,
  }
  await writeCatalog(
    db,
    account.id,
    async (trx) => {
      const taken = await releaseIdWithVersion(trx, row)
      if (taken) throw unprocessableAttr('VERSION_TAKEN', 'version already exists', '/data/attributes/version')
      await checkTagFree(trx, row, row.tag)
      await insertUnique(() => insertRelease(trx, row))
      for (const entitlementId of constraintIds) {
        await insertConstraints(trx, [
          {
            id: newId(),
            account_id: account.id,
            release_id: row.id,
            entitlement_id: entitlementId,
            created_at: ts,
            updated_at: ts,
          },
        ])
      }
    },
    'content',
  )
  return row
}

async function updateRelease(request: FastifyRequest<{ Params: Params }>) {
  requireAuth(request)
  const { db } = request.server.catalog
  const input = parseResource(request.body, 'releases', updateAttrs)
  const { row } = await findManageableRelease(request, request.params.id)
  if (input.id !== undefined && input.id.toLowerCase() !== row.id) {
    throw badRequest('does not match the release in the URL', { pointer: '/data/id' }, 'ID_MISMATCH')
  }
  const a = input.attributes
  const patch: Partial<ReleaseRow> = { updated_at: now() }
  if ('name' in a) patch.name = a.name as string | null
  if ('description' in a) patch.description = a.description as string | null
  if ('tag' in a) patch.tag = checkTag(a.tag)
  if ('metadata' in a) patch.metadata = metadataIn(a.metadata, '/data/attributes/metadata')
  if ('backdated' in a) patch.backdated_to = checkBackdated(a.backdated)
  return writeCatalog(
    db,
    row.account_id,
    async (trx) => {
      if (patch.tag !== undefined) await checkTagFree(trx, row, patch.tag)
      await insertUnique(() => updateReleaseRow(trx, row.id, patch))
      return { ...row, ...patch } as ReleaseRow
    },
    'content',
  )
}

async function setStatus(request: FastifyRequest<{ Params: Params }>, status: 'PUBLISHED' | 'YANKED') {
  requireAuth(request)
  const { db } = request.server.catalog
  const { row } = await findManageableRelease(request, request.params.id)
  const ts = now()
  const patch = { status, updated_at: ts, yanked_at: status === 'YANKED' ? ts : null }
  await writeCatalog(
    db,
    row.account_id,
    async (trx) => {
      await updateReleaseRow(trx, row.id, patch)
    },
    'content',
  )
  return { ...row, ...patch }
}

/** deleteRelease removes the release, its rows and its stored objects (Keygen leaves the objects behind). */
async function deleteRelease(request: FastifyRequest<{ Params: Params }>) {
  requireAuth(request)
  const { db } = request.server.catalog
  const { row } = await findManageableRelease(request, request.params.id)
  await writeCatalog(
    db,
    row.account_id,
    async (trx) => {
      await deleteReleaseRow(trx, row.id)
    },
    'content',
  )
  await removeBlobs(request, { prefixes: releasePrefixes(row.account_id, row.id) })
}

export async function releaseRoutes(fastify: FastifyInstance) {
  fastify.get('/releases', async (request, reply) => {
    const query = request.query
    const page = parsePage(query)
    let releases = await listReleases(request, releaseFiltersFromQuery(query))
    const status = param(query, 'status')
    if (status) releases = releases.filter((r) => r.row.status === status.toUpperCase())
    const yanked = param(query, 'yanked')
    if (yanked === 'true' || yanked === 'false') {
      releases = releases.filter((r) => (r.row.status === 'YANKED') === (yanked === 'true'))
    }
    const engine = param(query, 'engine')
    if (engine !== undefined) {
      const packageIds = packagesOfEngine(await snapshotOf(request), engine)
      releases = releases.filter((r) => (r.row.package_id ? packageIds.has(r.row.package_id) : engine === ''))
    }
    const codes = listParam(query, 'entitlements[]') ?? listParam(query, 'constraints[]')
    if (codes) {
      const allowed = entitlementIdsOf(await snapshotOf(request), codes)
      releases = releases.filter((r) => r.facts.constraintIds.every((id) => allowed.has(id)))
    }
    const rows = releases.map((r) => r.row)
    return sendList(request, reply, page, rows, releaseResource)
  })

  fastify.get<{ Params: Params }>('/releases/:id', async (request, reply) => {
    const { row } = await findRelease(request, request.params.id, releaseFiltersFromQuery(request.query))
    return sendDocument(request, reply, 200, { data: releaseResource(row) })
  })

  fastify.post('/releases', async (request, reply) => {
    const row = await createRelease(request)
    const doc = releaseResource(row)
    reply.header('Location', doc.links?.self ?? '')
    return sendDocument(request, reply, 201, { data: doc })
  })

  fastify.patch<{ Params: Params }>('/releases/:id', async (request, reply) =>
    sendDocument(request, reply, 200, { data: releaseResource(await updateRelease(request)) }),
  )
  fastify.put<{ Params: Params }>('/releases/:id', async (request, reply) =>
    sendDocument(request, reply, 200, { data: releaseResource(await updateRelease(request)) }),
  )

  fastify.post<{ Params: Params }>('/releases/:id/actions/publish', async (request, reply) =>
    sendDocument(request, reply, 200, { data: releaseResource(await setStatus(request, 'PUBLISHED')) }),
  )
  fastify.post<{ Params: Params }>('/releases/:id/actions/yank', async (request, reply) =>
    sendDocument(request, reply, 200, { data: releaseResource(await setStatus(request, 'YANKED')) }),
  )

  fastify.delete<{ Params: Params }>('/releases/:id', async (request, reply) => {
    await deleteRelease(request)
    return reply.code(204).send()
  })
}
