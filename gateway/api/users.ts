import type { FastifyInstance, FastifyRequest } from 'fastify'
import { hashPassword } from '../auth/passwords.ts'
import { requireAuth } from '../auth/plugin.ts'
import { type Executor, writeCatalog } from '../catalog/accounts.ts'
import { newId, now } from '../catalog/db.ts'
import type { UserRow } from '../catalog/types.ts'
import { deleteUser, insertUser, listUsers, updateUser, userByAlias, userIdByEmailKey } from '../catalog/users.ts'
import { forbidden, notFound } from '../errors.ts'
import { oneOf, required } from './attributes.ts'
import { type AttrSpecs, metadataIn, parseResource, sendDocument, unprocessableAttr } from './jsonapi.ts'
import { parsePage } from './pagination.ts'
import { sendList } from './list.ts'
import { isAdmin, requireAdmin } from './roles.ts'
import { userResource } from './serializers.ts'
import { insertUnique } from './unique.ts'

/** Users: people who log in with a password and reach releases through their licenses. */

const ROLES = ['user', 'admin', 'developer', 'sales-agent', 'support-agent', 'read-only'] as const

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
    const other = await userIdByEmailKey(db, accountId, email.toLowerCase())
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

export async function userRoutes(fastify: FastifyInstance) {
  const { db } = fastify.catalog
  const load = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    requireAuth(request)
    const alias = request.params.id
    const row = await userByAlias(db, request.account.id, alias)
    const p = request.principal
    const self = p.kind === 'user' && p.userId === row?.id
    if (!row || (!isAdmin(p) && !self)) throw notFound(`The requested user '${alias}' was not found`)
    return row
  }
  const update = async (row: UserRow, patch: Partial<UserRow>) => {
    const full = { ...patch, updated_at: now() }
    await writeCatalog(
      db,
      row.account_id,
      async (trx) => {
        await insertUnique(() => updateUser(trx, row.id, full))
      },
      'auth',
    )
    return { ...row, ...full }
  }
  fastify.get('/users', async (request, reply) => {
    requireAdmin(request)
    const page = parsePage(request.query)
    const rows = await listUsers(db, request.account.id)
    return sendList(request, reply, page, rows, userResource)
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
    await writeCatalog(
      db,
      row.account_id,
      async (trx) => {
        await insertUnique(() => insertUser(trx, row))
      },
      'auth',
    )
    return sendDocument(request, reply, 201, { data: userResource(row) })
  })
  fastify.patch<{ Params: { id: string } }>('/users/:id', async (request, reply) => {
    const row = await load(request)
    const a = parseResource(request.body, 'users', userAttrs).attributes
    const p = request.principal
    if ('role' in a && !(p.kind === 'staff' && p.role === 'admin')) throw forbidden('only admins may change roles')
    return sendDocument(request, reply, 200, {
      data: userResource(await update(row, await userPatch(db, row.account_id, a, row.id))),
    })
  })
  fastify.delete<{ Params: { id: string } }>('/users/:id', async (request, reply) => {
    const row = await load(request)
    requireAdmin(request)
    await writeCatalog(
      db,
      row.account_id,
      async (trx) => {
        await deleteUser(trx, row.id)
      },
      'auth',
    )
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
