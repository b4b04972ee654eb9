import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { parseCredentials } from '../auth/credentials.ts'
import { requireAuth } from '../auth/plugin.ts'
import { findUserByPassword, unauthorized } from '../auth/resolve.ts'
import { issueToken } from '../auth/tokens.ts'
import { isUuid, writeCatalog } from '../catalog/accounts.ts'
import { licenseById } from '../catalog/licenses.ts'
import { deleteToken, listTokens, type TokenScope, tokenById, tokenInScope } from '../catalog/tokens.ts'
import { userById } from '../catalog/users.ts'
import { GatewayError, notFound } from '../errors.ts'
import { parseResource, sendDocument } from './jsonapi.ts'
import { tokenAttrs } from './token-attrs.ts'
import { findProduct, snapshotOf } from './lookup.ts'
import { parsePage } from './pagination.ts'
import { sendList } from './list.ts'
import { requireAdmin } from './roles.ts'
import { licenseResource, productResource, tokenResource, userResource } from './serializers.ts'

const TWO_WEEKS = 14 * 24 * 3600 * 1000

function tokenInput(body: unknown) {
  if (body === undefined || body === null || body === '') return {}
  return parseResource(body, 'tokens', tokenAttrs).attributes
}

/**
 * loginRoute is `POST /v1/tokens` with Basic email:password: it returns a new user token (admin-like roles get
 * an admin token). It lives outside the authenticate scope because Basic credentials mean something else there.
 */
export async function loginRoute(fastify: FastifyInstance) {
  // Password guessing is throttled per client address; the 429 is a JSON:API error with Retry-After.
  await fastify.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) =>
      new GatewayError(
        'TOO_MANY_REQUESTS',
        `Too many login attempts; retry in ${Math.ceil(context.ttl / 1000)} seconds`,
        429,
      ),
  })
  fastify.post('/tokens', { config: { rateLimit: { max: 20, timeWindow: '1 minute' } } }, async (request, reply) => {
    const { db } = fastify.catalog
    const requested = (request.params as { account?: string }).account
    const model = fastify.readModel
    const account = requested ? await model.account(requested) : await model.defaultAccount()
    if (!account) throw notFound(`The requested account '${requested}' was not found`)
    const credentials = parseCredentials({ authorization: request.headers.authorization })
    const challenge = 'Basic realm="keygen"'
    if (credentials.kind !== 'basic-password') {
      throw unauthorized(
        'CREDENTIALS_MISSING',
        'You must provide an email and password (Basic authentication)',
        challenge,
      )
    }
    const user = await findUserByPassword(db, account, credentials.username, credentials.password)
    if (!user) {
      throw unauthorized('CREDENTIALS_INVALID', 'email and password must be valid', challenge)
    }
    if (user.banned_at) throw new GatewayError('USER_BANNED', 'User is banned', 403)
    const a = tokenInput(request.body)
    const staff = user.role !== 'user'
    const { row, raw } = await issueToken(db, account, {
      bearerType: staff ? 'admin' : 'user',
      bearerId: user.id,
      name: (a.name as string | undefined) ?? null,
      expiry:
        a.expiry !== undefined
          ? (a.expiry as string | null)
          : staff
            ? null
            : new Date(Date.now() + TWO_WEEKS).toISOString(),
    })
    return sendDocument(request, reply, 201, { data: tokenResource(row, raw) })
  })
}

export async function tokenRoutes(fastify: FastifyInstance) {
  const { db } = fastify.catalog

  fastify.get('/me', async (request, reply) => {
    const p = requireAuth(request)
    switch (p.kind) {
      case 'product': {
        const product = findProduct(await snapshotOf(request), p.productId)
        return sendDocument(request, reply, 200, { data: product ? productResource(product) : null })
      }
      case 'license': {
        const row = await licenseById(db, p.license.id)
        return sendDocument(request, reply, 200, { data: licenseResource(row, p.license.banned) })
      }
      case 'user':
      case 'staff': {
        const userId = p.userId
        const user = userId ? await userById(db, userId) : undefined
        if (user) return sendDocument(request, reply, 200, { data: userResource(user) })
        const token = await tokenById(db, p.tokenId)
        return sendDocument(request, reply, 200, { data: tokenResource(token) })
      }
    }
  })

  /** Tokens a principal may see: admins all, everyone else their own bearer's. */
  const visible = (request: FastifyRequest): TokenScope => {
    const p = requireAuth(request)
    if (p.kind === 'staff' && p.role === 'admin') return 'all'
    const bearerId = p.kind === 'product' ? p.productId : p.kind === 'license' ? p.license.id : p.userId
    return bearerId ? { bearerId } : { tokenId: p.tokenId ?? '' }
  }
  fastify.get('/tokens', async (request, reply) => {
    const page = parsePage(request.query)
    const rows = await listTokens(db, request.account.id, visible(request))
    return sendList(request, reply, page, rows, (r) => tokenResource(r))
  })
  const load = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    const row = isUuid(request.params.id)
      ? await tokenInScope(db, request.account.id, visible(request), request.params.id.toLowerCase())
      : undefined
    if (!row) throw notFound(`The requested token '${request.params.id}' was not found`)
    return row
  }
  fastify.get<{ Params: { id: string } }>('/tokens/:id', async (request, reply) =>
    sendDocument(request, reply, 200, { data: tokenResource(await load(request)) }),
  )
  fastify.delete<{ Params: { id: string } }>('/tokens/:id', async (request, reply) => {
    const row = await load(request)
    await writeCatalog(
      db,
      row.account_id,
      async (trx) => {
        await deleteToken(trx, row.id)
      },
      'auth',
    )
    return reply.code(204).send()
  })

  // Product tokens (`prod-…`) for CI and the keygen CLI: admins only, not the product itself. Keygen answers 200.
  fastify.post<{ Params: { id: string } }>('/products/:id/tokens', async (request, reply) => {
    requireAdmin(request)
    const product = findProduct(await snapshotOf(request), request.params.id)
    if (!product) throw notFound(`The requested product '${request.params.id}' was not found`)
    const a = tokenInput(request.body)
    const { row, raw } = await issueToken(db, request.account, {
      bearerType: 'product',
      bearerId: product.id,
      name: (a.name as string | undefined) ?? null,
      expiry: (a.expiry as string | null | undefined) ?? null,
    })
    return sendDocument(request, reply, 200, { data: tokenResource(row, raw) })
  })
}
