import { randomBytes } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { hashPassword } from '../auth/passwords.ts'
import type { Principal } from '../auth/principal.ts'
import { requireAuth } from '../auth/plugin.ts'
import { issueToken } from '../auth/tokens.ts'
import { type Executor, isUuid, writeCatalog } from '../catalog/accounts.ts'
import { newId, now } from '../catalog/db.ts'
import type { LicenseRow, PolicyRow, UserRow } from '../catalog/types.ts'
import { badRequest, forbidden, notFound } from '../errors.ts'
import {
  type AttrSpecs,
  linkageList,
  metadataIn,
  parseResource,
  relationshipId,
  sendDocument,
  unprocessableAttr,
} from './jsonapi.ts'
import { findProduct } from './lookup.ts'
import { paginate, parsePage, sortByCreated } from './pagination.ts'
import { isAdmin, requireAdmin } from './roles.ts'
import { licenseResource, policyResource, tokenResource, userResource } from './serializers.ts'
import { insertUnique } from './unique.ts'

/** Policies, licenses and users: who may download what. Managed by admins, and by a product for its own. */

const EXPIRATION = ['REVOKE_ACCESS', 'RESTRICT_ACCESS', 'MAINTAIN_ACCESS', 'ALLOW_ACCESS'] as const
const AUTHENTICATION = ['TOKEN', 'LICENSE', 'MIXED', 'NONE'] as const
const ROLES = ['user', 'admin', 'developer', 'sales-agent', 'support-agent', 'read-only'] as const

/** manages: admins manage everything, a product only what belongs to it. */
const manages = (p: Principal, productId: string) => isAdmin(p) || (p.kind === 'product' && p.productId === productId)

function oneOf<T extends string>(value: unknown, allowed: readonly T[], attr: string): T {
  if (!allowed.includes(value as T)) {
    throw unprocessableAttr(
      `${attr.replace(/([A-Z])/g, '_$1').toUpperCase()}_NOT_ALLOWED`,
      `must be one of: ${allowed.join(', ')}`,
      `/data/attributes/${attr}`,
    )
  }
  return value as T
}

function required(a: Record<string, unknown>, ...names: string[]) {
  for (const n of names)
    if (a[n] === undefined) throw badRequest('is missing', { pointer: `/data/attributes/${n}` }, 'PARAMETER_MISSING')
}

/** attachEntitlements links entitlements to a policy or license; unknown ids are a 422. */
async function attachEntitlements(
  db: Executor,
  accountId: string,
  table: 'policy_entitlements' | 'license_entitlements',
  column: 'policy_id' | 'license_id',
  ownerId: string,
  ids: string[],
) {
  const valid = ids.filter(isUuid).map((i) => i.toLowerCase())
  const found = valid.length
    ? await db
        .selectFrom('entitlements')
        .select('id')
        .where('account_id', '=', accountId)
        .where('id', 'in', valid)
        .execute()
    : []
  if (found.length !== new Set(ids).size)
    throw unprocessableAttr('ENTITLEMENT_NOT_FOUND', 'entitlement must exist', '/data')
  const ts = now()
  for (const { id } of found) {
    await db
      .insertInto(table)
      .values({
        id: newId(),
        account_id: accountId,
        [column]: ownerId,
        entitlement_id: id,
        created_at: ts,
        updated_at: ts,
      } as never)
      .onConflict((oc) => oc.columns([column, 'entitlement_id']).doNothing())
      .execute()
  }
}

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

async function policyRoutes(fastify: FastifyInstance) {
  const { db } = fastify.catalog
  const load = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    requireAuth(request)
    const row = isUuid(request.params.id)
      ? await db
          .selectFrom('policies')
          .selectAll()
          .where('account_id', '=', request.account.id)
          .where('id', '=', request.params.id.toLowerCase())
          .executeTakeFirst()
      : undefined
    if (!row || !manages(request.principal, row.product_id))
      throw notFound(`The requested policy '${request.params.id}' was not found`)
    return row
  }
  fastify.get('/policies', async (request, reply) => {
    requireAuth(request)
    const page = parsePage(request.query)
    const rows = (
      await db.selectFrom('policies').selectAll().where('account_id', '=', request.account.id).execute()
    ).filter((r) => manages(request.principal, r.product_id))
    const { items, links } = paginate(request, sortByCreated(rows, page.order), page)
    return sendDocument(request, reply, 200, { data: items.map(policyResource), links })
  })
  fastify.get<{ Params: { id: string } }>('/policies/:id', async (request, reply) =>
    sendDocument(request, reply, 200, { data: policyResource(await load(request)) }),
  )
  fastify.post('/policies', async (request, reply) => {
    requireAuth(request)
    const input = parseResource(request.body, 'policies', policyAttrs, ['product'])
    required(input.attributes, 'name')
    const productId = relationshipId(input, 'product', 'products')
    const product = productId && isUuid(productId) ? await findProduct(db, request.account.id, productId) : undefined
    if (!product) throw unprocessableAttr('PRODUCT_NOT_FOUND', 'must exist', '/data/relationships/product')
    if (!manages(request.principal, product.id)) throw forbidden()
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
    await writeCatalog(db, row.account_id, async (trx) => {
      await trx.insertInto('policies').values(row).execute()
    })
    return sendDocument(request, reply, 201, { data: policyResource(row) })
  })
  fastify.patch<{ Params: { id: string } }>('/policies/:id', async (request, reply) => {
    const row = await load(request)
    const patch = { ...policyPatch(parseResource(request.body, 'policies', policyAttrs).attributes), updated_at: now() }
    await writeCatalog(db, row.account_id, async (trx) => {
      await trx.updateTable('policies').set(patch).where('id', '=', row.id).execute()
    })
    return sendDocument(request, reply, 200, { data: policyResource({ ...row, ...patch }) })
  })
  fastify.delete<{ Params: { id: string } }>('/policies/:id', async (request, reply) => {
    const row = await load(request)
    await writeCatalog(db, row.account_id, async (trx) => {
      await trx.deleteFrom('policies').where('id', '=', row.id).execute()
    })
    return reply.code(204).send()
  })
  fastify.post<{ Params: { id: string } }>('/policies/:id/entitlements', async (request, reply) => {
    const row = await load(request)
    const ids = linkageList(request.body, 'entitlements')
    await writeCatalog(db, row.account_id, async (trx) => {
      await attachEntitlements(trx, row.account_id, 'policy_entitlements', 'policy_id', row.id, ids)
    })
    return sendDocument(request, reply, 200, { data: policyResource(row) })
  })
}

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

async function licenseRoutes(fastify: FastifyInstance) {
  const { db } = fastify.catalog
  const banned = async (row: LicenseRow) =>
    row.owner_id
      ? Boolean(
          (await db.selectFrom('users').select('banned_at').where('id', '=', row.owner_id).executeTakeFirst())
            ?.banned_at,
        )
      : false
  const send = async (request: FastifyRequest, reply: import('fastify').FastifyReply, row: LicenseRow, status = 200) =>
    sendDocument(request, reply, status, { data: licenseResource(row, await banned(row)) })
  const load = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    requireAuth(request)
    const alias = request.params.id
    const q = db.selectFrom('licenses').selectAll().where('account_id', '=', request.account.id)
    const row = await (isUuid(alias)
      ? q.where((eb) => eb.or([eb('id', '=', alias.toLowerCase()), eb('key', '=', alias)]))
      : q.where('key', '=', alias)
    ).executeTakeFirst()
    const p = request.principal
    const own = p.kind === 'license' && p.license.id === row?.id
    if (!row || (!manages(p, row.product_id) && !own)) throw notFound(`The requested license '${alias}' was not found`)
    return row
  }
  const manageable = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    const row = await load(request)
    if (!manages(request.principal, row.product_id)) throw forbidden()
    return row
  }
  const update = async (row: LicenseRow, patch: Partial<LicenseRow>) => {
    const full = { ...patch, updated_at: now() }
    await writeCatalog(db, row.account_id, async (trx) => {
      await insertUnique(() => trx.updateTable('licenses').set(full).where('id', '=', row.id).execute())
    })
    return { ...row, ...full }
  }
  const checkKey = async (accountId: string, key: string, selfId?: string) => {
    if (key.length < 6)
      throw unprocessableAttr('KEY_TOO_SHORT', 'is too short (minimum is 6 characters)', '/data/attributes/key')
    const other = await db
      .selectFrom('licenses')
      .select('id')
      .where('account_id', '=', accountId)
      .where('key', '=', key)
      .executeTakeFirst()
    if (other && other.id !== selfId)
      throw unprocessableAttr('KEY_TAKEN', 'has already been taken', '/data/attributes/key')
    return key
  }

  fastify.get('/licenses', async (request, reply) => {
    requireAuth(request)
    const page = parsePage(request.query)
    const p = request.principal
    const rows = (
      await db.selectFrom('licenses').selectAll().where('account_id', '=', request.account.id).execute()
    ).filter((r) => manages(p, r.product_id) || (p.kind === 'license' && p.license.id === r.id))
    const { items, links } = paginate(request, sortByCreated(rows, page.order), page)
    return sendDocument(request, reply, 200, { data: items.map((r) => licenseResource(r)), links })
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
      policyId && isUuid(policyId)
        ? await db
            .selectFrom('policies')
            .selectAll()
            .where('account_id', '=', request.account.id)
            .where('id', '=', policyId.toLowerCase())
            .executeTakeFirst()
        : undefined
    if (!policy) throw unprocessableAttr('POLICY_NOT_FOUND', 'must exist', '/data/relationships/policy')
    if (!manages(request.principal, policy.product_id)) throw forbidden()
    const ownerId = relationshipId(input, 'owner', 'users') ?? relationshipId(input, 'user', 'users') ?? null
    if (ownerId) {
      const owner = isUuid(ownerId)
        ? await db
            .selectFrom('users')
            .select('id')
            .where('account_id', '=', request.account.id)
            .where('id', '=', ownerId.toLowerCase())
            .executeTakeFirst()
        : undefined
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
    await writeCatalog(db, row.account_id, async (trx) => {
      await insertUnique(() => trx.insertInto('licenses').values(row).execute())
    })
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
    await writeCatalog(db, row.account_id, async (trx) => {
      await trx.deleteFrom('licenses').where('id', '=', row.id).execute()
    })
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
    await writeCatalog(db, row.account_id, async (trx) => {
      await attachEntitlements(trx, row.account_id, 'license_entitlements', 'license_id', row.id, ids)
    })
    return send(request, reply, row)
  })
  fastify.post<{ Params: { id: string } }>('/licenses/:id/users', async (request, reply) => {
    const row = await manageable(request)
    const ids = linkageList(request.body, 'users').map((i) => i.toLowerCase())
    const found = await db
      .selectFrom('users')
      .select('id')
      .where('account_id', '=', row.account_id)
      .where('id', 'in', ids.filter(isUuid))
      .execute()
    if (found.length !== new Set(ids).size) throw unprocessableAttr('USER_NOT_FOUND', 'user must exist', '/data')
    const ts = now()
    await writeCatalog(db, row.account_id, async (trx) => {
      for (const { id } of found) {
        await trx
          .insertInto('license_users')
          .values({
            id: newId(),
            account_id: row.account_id,
            license_id: row.id,
            user_id: id,
            created_at: ts,
            updated_at: ts,
          })
          .onConflict((oc) => oc.columns(['license_id', 'user_id']).doNothing())
          .execute()
      }
    })
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

export const tokenAttrs: AttrSpecs = {
  name: { kind: 'string', nullable: true, max: 255 },
  expiry: { kind: 'timestamp', nullable: true },
  permissions: { kind: 'string[]', nullable: true },
}

const userAttrs: AttrSpecs = {
  email: { kind: 'string', max: 255 },
  password: { kind: 'string', nullable: true, max: 72 },
  firstName: { kind: 'string', nullable: true, max: 255 },
  lastName: { kind: 'string', nullable: true, max: 255 },
  role: { kind: 'string' },
  metadata: { kind: 'object', nullable: true },
}

async function userPatch(db: Executor, accountId: string, a: Record<string, unknown>, selfId?: string) {
  const patch: Partial<UserRow> = {}
  if ('email' in a) {
    const email = (a.email as string).trim()
    if (!/^[^@\s]+@[^@\s]+$/.test(email))
      throw unprocessableAttr('EMAIL_INVALID', 'must be a valid email', '/data/attributes/email')
    const other = await db
      .selectFrom('users')
      .select('id')
      .where('account_id', '=', accountId)
      .where('email_key', '=', email.toLowerCase())
      .executeTakeFirst()
    if (other && other.id !== selfId)
      throw unprocessableAttr('EMAIL_TAKEN', 'has already been taken', '/data/attributes/email')
    patch.email = email
    patch.email_key = email.toLowerCase()
  }
  if ('password' in a) {
    const pw = a.password as string | null
    if (pw !== null && (Buffer.byteLength(pw) < 6 || Buffer.byteLength(pw) > 72)) {
      throw unprocessableAttr('PASSWORD_INVALID', 'must be 6 to 72 bytes', '/data/attributes/password')
    }
    patch.password_hash = pw === null ? null : await hashPassword(pw)
  }
  if ('firstName' in a) patch.first_name = a.firstName as string | null
  if ('lastName' in a) patch.last_name = a.lastName as string | null
  if ('role' in a) patch.role = oneOf(a.role, ROLES, 'role')
  if ('metadata' in a) patch.metadata = metadataIn(a.metadata, '/data/attributes/metadata')
  return patch
}

async function userRoutes(fastify: FastifyInstance) {
  const { db } = fastify.catalog
  const load = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    requireAuth(request)
    const alias = request.params.id
    const q = db.selectFrom('users').selectAll().where('account_id', '=', request.account.id)
    const row = await (isUuid(alias)
      ? q.where('id', '=', alias.toLowerCase())
      : q.where('email_key', '=', alias.toLowerCase())
    ).executeTakeFirst()
    const p = request.principal
    const self = p.kind === 'user' && p.userId === row?.id
    if (!row || (!isAdmin(p) && !self)) throw notFound(`The requested user '${alias}' was not found`)
    return row
  }
  const update = async (row: UserRow, patch: Partial<UserRow>) => {
    const full = { ...patch, updated_at: now() }
    await writeCatalog(db, row.account_id, async (trx) => {
      await insertUnique(() => trx.updateTable('users').set(full).where('id', '=', row.id).execute())
    })
    return { ...row, ...full }
  }
  fastify.get('/users', async (request, reply) => {
    requireAdmin(request)
    const page = parsePage(request.query)
    const rows = await db.selectFrom('users').selectAll().where('account_id', '=', request.account.id).execute()
    const { items, links } = paginate(request, sortByCreated(rows, page.order), page)
    return sendDocument(request, reply, 200, { data: items.map(userResource), links })
  })
  fastify.get<{ Params: { id: string } }>('/users/:id', async (request, reply) =>
    sendDocument(request, reply, 200, { data: userResource(await load(request)) }),
  )
  fastify.post('/users', async (request, reply) => {
    requireAdmin(request)
    const a = parseResource(request.body, 'users', userAttrs).attributes
    required(a, 'email')
    const ts = now()
    const row: UserRow = {
      id: newId(),
      account_id: request.account.id,
      email: '',
      email_key: '',
      first_name: null,
      last_name: null,
      role: 'user',
      password_hash: null,
      banned_at: null,
      metadata: '{}',
      created_at: ts,
      updated_at: ts,
      ...(await userPatch(db, request.account.id, a)),
    }
    await writeCatalog(db, row.account_id, async (trx) => {
      await insertUnique(() => trx.insertInto('users').values(row).execute())
    })
    return sendDocument(request, reply, 201, { data: userResource(row) })
  })
  fastify.patch<{ Params: { id: string } }>('/users/:id', async (request, reply) => {
    const row = await load(request)
    const a = parseResource(request.body, 'users', userAttrs).attributes
    if ('role' in a && !isAdmin(request.principal)) throw forbidden('only admins may change roles')
    return sendDocument(request, reply, 200, {
      data: userResource(await update(row, await userPatch(db, row.account_id, a, row.id))),
    })
  })
  fastify.delete<{ Params: { id: string } }>('/users/:id', async (request, reply) => {
    const row = await load(request)
    requireAdmin(request)
    await writeCatalog(db, row.account_id, async (trx) => {
      await trx.deleteFrom('users').where('id', '=', row.id).execute()
    })
    return reply.code(204).send()
  })
  for (const [action, bannedAt] of [
    ['ban', () => now()],
    ['unban', () => null],
  ] as const) {
    fastify.post<{ Params: { id: string } }>(`/users/:id/actions/${action}`, async (request, reply) => {
      const row = await load(request)
      requireAdmin(request)
      return sendDocument(request, reply, 200, { data: userResource(await update(row, { banned_at: bannedAt() })) })
    })
  }
}

export async function licensingRoutes(fastify: FastifyInstance) {
  await fastify.register(policyRoutes)
  await fastify.register(licenseRoutes)
  await fastify.register(userRoutes)
}
