import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Account } from '../catalog/types.ts'
import { GatewayError, notFound } from '../errors.ts'
import type { ReadModel } from '../read-model/read-model.ts'
import { judgedCredential } from '../replay.ts'
import { connectionMemo } from './connection-memo.ts'
import { type Credentials, challengeHeader, challengeScheme, NO_CREDENTIALS, parseCredentials } from './credentials.ts'
import { ANONYMOUS, type AuthenticatedPrincipal, type Principal } from './principal.ts'
import { UNAUTHENTICATED_DETAIL, unauthorized } from './resolve.ts'

export interface AuthenticateOptions {
  /** Challenge scheme of 401s when the client sent no credentials (or query ones). Default Bearer; OCI uses Basic. */
  challenge?: 'Bearer' | 'Basic'
  /** Realm of the `WWW-Authenticate` challenge. Default `keygen`. */
  realm?: string
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The account of the request (`:account` param, else the default account); set by `authenticate`. */
    account: Account
    /** Who is calling; ANONYMOUS when no credentials were sent. Set by `authenticate`. */
    principal: Principal
    /** What the request presented and how its scope challenges; set by `authenticate`. */
    authContext: AuthContext | null
  }
  interface FastifyContextConfig {
    /**
     * The route reads Basic `email:password` itself (the login route, `POST /v1/tokens`): such credentials are
     * not resolved as a token; the principal stays ANONYMOUS and the handler reads {@link requestCredentials}.
     */
    passwordAuth?: boolean
  }
}

/** The parsed credentials of a request and its scope's challenge, from which 401s build `WWW-Authenticate`. */
export interface AuthContext {
  credentials: Credentials
  fallback: 'Bearer' | 'Basic'
  realm: string
}

/**
 * authenticate resolves the account and the principal of every request of the scope it is registered in (the
 * management API, each engine), so that its errors are rendered by that scope's error handler:
 * 1. account: `request.params.account` (UUID or slug; unknown → 404 NOT_FOUND), else the default account
 *    (slug `default`, else the oldest);
 * 2. a `Keygen-Environment` header or `?environment=` → 400 ENVIRONMENT_NOT_SUPPORTED;
 * 3. credentials → principal through the read model's credential cache (none → ANONYMOUS; invalid → 401/403,
 *    never anonymous). On routes with
 *    `config: { passwordAuth: true }`, Basic `email:password` is left to the handler ({@link requestCredentials}).
 * Routes that need a bearer call {@link requireAuth}.
 */
async function authenticate(fastify: FastifyInstance, opts: AuthenticateOptions) {
  const fallback = opts.challenge ?? 'Bearer'
  const realm = opts.realm ?? 'keygen'
  if (!fastify.hasRequestDecorator('account')) fastify.decorateRequest('account', null, [])
  if (!fastify.hasRequestDecorator('principal')) fastify.decorateRequest('principal', null, [])
  if (!fastify.hasRequestDecorator('authContext')) fastify.decorateRequest('authContext', null, [])

  const model = fastify.readModel
  const throttle = fastify.authThrottle

  /** authenticateRequest sets the request's account and principal; synchronously when both are cached. */
  function authenticateRequest(request: FastifyRequest): void | Promise<void> {
    const account = resolveAccount(model, request)
    if (account instanceof Promise) return account.then((a) => withAccount(request, a))
    return withAccount(request, account)
  }

  function withAccount(request: FastifyRequest, account: Account): void | Promise<void> {
    request.account = account
    rejectEnvironment(request)
    const { credentials, key } = connectionCredentials(model, request, account)
    request.authContext = { credentials, fallback, realm }
    if (credentials.kind === 'basic-password' && request.routeOptions.config?.passwordAuth === true) {
      request.principal = ANONYMOUS
      return
    }
    // Failed authentications are counted per address and credential prefix; past the budget, 429 (throttle.ts).
    const principal = throttle.guard(request.ip, credentials, () =>
      model.principal(account, credentials, { realm, challenge: fallback }, key),
    )
    if (principal instanceof Promise) {
      return principal.then((p) => {
        request.principal = p
      })
    }
    request.principal = principal
  }

  // A callback hook rather than an async one: a warm request is authenticated without a promise or a microtask.
  fastify.addHook('onRequest', (request, _reply, done) => {
    let pending: void | Promise<void>
    try {
      pending = authenticateRequest(request)
    } catch (err) {
      done(err as Error)
      return
    }
    if (pending) pending.then(() => done(), done)
    else done()
  })
}

/**
 * connectionCredentials parses the request's credentials and derives their cache key (an HMAC), or takes both from
 * the connection's previous request when it sent the same header to the same account (connection-memo.ts). The
 * request's answer is judged for them: replay (replay.ts) is told so.
 */
export function connectionCredentials(
  model: ReadModel,
  request: FastifyRequest,
  account: Account,
): { credentials: Credentials; key: string | null } {
  const found = connectionMemo(request, 'credentials', account.id, () => {
    const credentials = parseCredentials({ authorization: request.headers.authorization, query: request.query })
    return { credentials, key: model.credentialKey(account.id, credentials) }
  })
  judgedCredential(request, found.key)
  return found
}

function resolveAccount(model: ReadModel, request: FastifyRequest): Account | Promise<Account> {
  const params = request.params as Record<string, unknown> | undefined
  const requested = params?.account
  if (typeof requested !== 'string') return model.defaultAccount()
  const unknown = () => notFound(`The requested account '${requested}' was not found`)
  if (requested === '') throw unknown()
  const account = model.account(requested)
  if (!(account instanceof Promise)) return account
  return account.then((found) => found ?? Promise.reject(unknown()))
}

function rejectEnvironment(request: FastifyRequest): void {
  if (request.headers['keygen-environment'] !== undefined) {
    throw new GatewayError('ENVIRONMENT_NOT_SUPPORTED', 'is unsupported', 400, {
      source: { header: 'Keygen-Environment' },
    })
  }
  const query = request.query
  if (typeof query === 'object' && query !== null && Object.hasOwn(query, 'environment')) {
    throw new GatewayError('ENVIRONMENT_NOT_SUPPORTED', 'is unsupported', 400, {
      source: { parameter: 'environment' },
    })
  }
}

/**
 * authChallenge is the `WWW-Authenticate` value for a 401 on this request: the scheme the client used, else the
 * scope's default, with the scope's realm. `Bearer realm="keygen"` outside an authenticate scope.
 */
export function authChallenge(request: FastifyRequest): string {
  const context = request.authContext
  if (!context) return challengeHeader('Bearer')
  return challengeHeader(challengeScheme(context.credentials, context.fallback), context.realm)
}

/** requestCredentials is what the request presented (e.g. Basic email:password for a `passwordAuth` route). */
export function requestCredentials(request: FastifyRequest): Credentials {
  return request.authContext?.credentials ?? NO_CREDENTIALS
}

/**
 * requireAuth returns the principal of an authenticated request, or throws 401 TOKEN_MISSING
 * "You must be authenticated to complete the request" with the challenge header.
 */
export function requireAuth(request: FastifyRequest): AuthenticatedPrincipal {
  const principal = request.principal ?? ANONYMOUS
  if (principal.kind === 'anonymous') {
    throw unauthorized('TOKEN_MISSING', UNAUTHENTICATED_DETAIL, authChallenge(request))
  }
  return principal
}

export default fp(authenticate, { name: 'pkgway-authenticate', fastify: '5.x' })
