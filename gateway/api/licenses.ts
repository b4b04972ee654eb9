import { canManageProduct } from '../auth/policy.ts'
import { randomBytes } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { requireAuth } from '../auth/plugin.ts'
import { issueToken } from '../auth/tokens.ts'
import { isUuid, writeCatalog } from '../catalog/accounts.ts'
import { newId, now } from '../catalog/db.ts'
import {
  deleteLicense,
  insertLicense,
  licenseByAlias,
  licenseIdByKey,
  linkLicenseUser,
  listLicenses,
  updateLicense,
} from '../catalog/licenses.ts'
import { policyById } from '../catalog/policies.ts'
import type { LicenseRow } from '../catalog/types.ts'
import { userBannedAt, userExists, userIdsIn } from '../catalog/users.ts'
import { forbidden, notFound } from '../errors.ts'
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
import { licenseResource, tokenResource } from './serializers.ts'
import { tokenAttrs } from './token-attrs.ts'
import { insertUnique } from './unique.ts'

/** Shortest custom license key accepted. */
const MIN_KEY_LENGTH = 16

/** Licenses: the keys customers download with; managed by admins and by their product. */

/** generateLicenseKey makes Keygen's shape: 32 hex characters ending in "v3", upper-cased, in groups of six. */
export function generateLicenseKey(): string {
  const hex = `${randomBytes(16).toString('hex').slice(0, 30)}v3`.toUpperCase()
  return hex.match(/.{1,6}/g)!.join('-')
}

const licenseAttrs: AttrSpecs = {
  name: { kind: 'string', nullable: true, max: 255 },
  key: { kind: 'string', max: 4096 },
  expiry: { kind: 'timestamp', nullable: true },
  suspended: { kind: 'boolean' },
  metadata: { kind: 'object', nullable: true },
}

export async function licenseRoutes(fastify: FastifyInstance) {
  const { db } = fastify.catalog
  const banned = async (row: LicenseRow) => (row.owner_id ? Boolean(await userBannedAt(db, row.owner_id)) : false)
  const send = async (request: FastifyRequest, reply: import('fastify').FastifyReply, row: LicenseRow, status = 200) =>
    sendDocument(request, reply, status, { data: licenseResource(row, await banned(row)) })
  const load = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    requireAuth(request)
    const alias = request.params.id
    const row = await licenseByAlias(db, request.account.id, alias)
    const p = request.principal
    const own = p.kind === 'license' && p.license.id === row?.id
    if (!row || (!canManageProduct(p, row.product_id) && !own))
      throw notFound(`The requested license '${alias}' was not found`)
    return row
  }
  const manageable = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    const row = await load(request)
    if (!canManageProduct(request.principal, row.product_id)) throw forbidden()
    return row
  }
  const update = async (row: LicenseRow, patch: Partial<LicenseRow>) => {
    const full = { ...patch, updated_at: now() }
    await writeCatalog(
      db,
      row.account_id,
      async (trx) => {
        await insertUnique(() => updateLicense(trx, row.id, full))
      },
      'auth',
    )
    return { ...row, ...full }
  }
  const checkKey = async (accountId: string, key: string, selfId?: string) => {
    // A license key is a credential: a short custom key could be guessed (Keygen allows 6 characters).
    if (key.length < MIN_KEY_LENGTH) {
      throw unprocessableAttr(
        'KEY_TOO_SHORT',
        `is too short (minimum is ${MIN_KEY_LENGTH} characters)`,
        '/data/attributes/key',
      )
    }
    const other = await licenseIdByKey(db, accountId, key)
    if (other && other.id !== selfId)
      throw unprocessableAttr('KEY_TAKEN', 'has already been taken', '/data/attributes/key')
    return key
  }

  fastify.get('/licenses', async (request, reply) => {
    requireAuth(request)
    const page = parsePage(request.query)
    const p = request.principal
    const rows = (await listLicenses(db, request.account.id)).filter(
      (r) => canManageProduct(p, r.product_id) || (p.kind === 'license' && p.license.id === r.id),
    )
    return sendList(request, reply, page, rows, (r) => licenseResource(r))
  })
  fastify.get<{ Params: { id: string } }>('/licenses/:id', async (request, reply) =>
    send(request, reply, await load(request)),
  )
  fastify.post('/licenses', async (request, reply) => {
    requireAuth(request)
    const input = parseResource(request.body, 'licenses', licenseAttrs, ['policy', 'owner', 'user', 'group'])
    const a = input.attributes
    const policyId = relationshipId(input, 'policy', 'policies')
    const policy =
      policyId && isUuid(policyId) ? await policyById(db, request.account.id, policyId.toLowerCase()) : undefined
    if (!policy) throw unprocessableAttr('POLICY_NOT_FOUND', 'must exist', '/data/relationships/policy')
    if (!canManageProduct(request.principal, policy.product_id)) throw forbidden()
    const ownerId = relationshipId(input, 'owner', 'users') ?? relationshipId(input, 'user', 'users') ?? null
    if (ownerId) {
      const owner = isUuid(ownerId) && (await userExists(db, request.account.id, ownerId.toLowerCase()))
      if (!owner) throw unprocessableAttr('OWNER_NOT_FOUND', 'must exist', '/data/relationships/owner')
    }
    const ts = now()
    const expiry =
      a.expiry !== undefined
        ? a.expiry === null
          ? null
          : new Date(Date.parse(a.expiry as string)).toISOString()
        : policy.duration
          ? new Date(Date.now() + Number(policy.duration) * 1000).toISOString()
          : null
    const row: LicenseRow = {
      id: newId(),
      account_id: request.account.id,
      policy_id: policy.id,
      product_id: policy.product_id,
      owner_id: ownerId?.toLowerCase() ?? null,
      key: a.key === undefined ? generateLicenseKey() : await checkKey(request.account.id, a.key as string),
      name: (a.name as string | null | undefined) ?? null,
      expiry,
      suspended: a.suspended ? 1 : 0,
      metadata: a.metadata === undefined ? '{}' : metadataIn(a.metadata, '/data/attributes/metadata'),
      created_at: ts,
      updated_at: ts,
    }
    await writeCatalog(
      db,
      row.account_id,
      async (trx) => {
        await insertUnique(() => insertLicense(trx, row))
      },
      'auth',
    )
    return send(request, reply, row, 201)
  })
  fastify.patch<{ Params: { id: string } }>('/licenses/:id', async (request, reply) => {
    const row = await manageable(request)
    const a = parseResource(request.body, 'licenses', licenseAttrs).attributes
    const patch: Partial<LicenseRow> = {}
    if ('name' in a) patch.name = a.name as string | null
    if ('key' in a) patch.key = await checkKey(row.account_id, a.key as string, row.id)
    if ('expiry' in a) patch.expiry = a.expiry === null ? null : new Date(Date.parse(a.expiry as string)).toISOString()
    if ('suspended' in a) patch.suspended = a.suspended ? 1 : 0
    if ('metadata' in a) patch.metadata = metadataIn(a.metadata, '/data/attributes/metadata')
    return send(request, reply, await update(row, patch))
  })
  fastify.delete<{ Params: { id: string } }>('/licenses/:id', async (request, reply) => {
    const row = await manageable(request)
    await writeCatalog(
      db,
      row.account_id,
      async (trx) => {
        await deleteLicense(trx, row.id)
      },
      'auth',
    )
    return reply.code(204).send()
  })
  fastify.post<{ Params: { id: string } }>('/licenses/:id/actions/suspend', async (request, reply) =>
    send(request, reply, await update(await manageable(request), { suspended: 1 })),
  )
  fastify.post<{ Params: { id: string } }>('/licenses/:id/actions/reinstate', async (request, reply) =>
    send(request, reply, await update(await manageable(request), { suspended: 0 })),
  )
  fastify.post<{ Params: { id: string } }>('/licenses/:id/entitlements', async (request, reply) => {
    const row = await manageable(request)
    const ids = linkageList(request.body, 'entitlements')
    await writeCatalog(
      db,
      row.account_id,
      async (trx) => {
        await attachEntitlements(trx, row.account_id, 'license_entitlements', 'license_id', row.id, ids)
      },
      'auth',
    )
    return send(request, reply, row)
  })
  fastify.post<{ Params: { id: string } }>('/licenses/:id/users', async (request, reply) => {
    const row = await manageable(request)
    const ids = linkageList(request.body, 'users').map((i) => i.toLowerCase())
    const found = await userIdsIn(db, row.account_id, ids.filter(isUuid))
    if (found.length !== new Set(ids).size) throw unprocessableAttr('USER_NOT_FOUND', 'user must exist', '/data')
    const ts = now()
    await writeCatalog(
      db,
      row.account_id,
      async (trx) => {
        for (const { id } of found) {
          await linkLicenseUser(trx, {
            id: newId(),
            account_id: row.account_id,
            license_id: row.id,
            user_id: id,
            created_at: ts,
            updated_at: ts,
          })
        }
      },
      'auth',
    )
    return send(request, reply, row)
  })
  // License tokens (`activ-…`): admins, or the license's product. Keygen answers 200 here.
  fastify.post<{ Params: { id: string } }>('/licenses/:id/tokens', async (request, reply) => {
    const row = await manageable(request)
    const a =
      request.body === undefined || request.body === null
        ? {}
        : parseResource(request.body, 'tokens', tokenAttrs).attributes
    const { row: token, raw } = await issueToken(db, request.account, {
      bearerType: 'license',
      bearerId: row.id,
      name: (a.name as string | undefined) ?? null,
      expiry: (a.expiry as string | null | undefined) ?? null,
    })
    return sendDocument(request, reply, 200, { data: tokenResource(token, raw) })
  })
}
