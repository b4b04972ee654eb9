import { createServer } from 'node:http'
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify'
import type { Bindings, ChildLoggerOptions, LogFn, Logger } from 'pino'
import type { PkgwayConfig } from '../config/schema.ts'
import type { Catalog } from './catalog/db.ts'
import errorHandler, { sendJsonApiErrors, toJsonApiError } from './plugins/error-handler.ts'
import health from './plugins/health.ts'
import metrics from './plugins/metrics.ts'
import services from './plugins/services.ts'
import workers from './plugins/workers.ts'
import { api } from './api/index.ts'
import { AuthThrottle } from './auth/throttle.ts'
import { artifactEvents } from './api/artifact-events.ts'
import { engines, rootEngines } from './engines/index.ts'
import { Replay } from './replay.ts'
import { requestId } from './request-id.ts'
import { SCOPE_PREFIXES } from './scopes.ts'
import type { BlobStore } from './storage/blob-store.ts'
import { blobRoute } from './storage/blob-route.ts'
import type { SigningKeys } from './storage/signing-keys.ts'

export interface PkgwayOptions {
  config: PkgwayConfig
  catalog: Catalog
  blobs: BlobStore
  /** Secret of gateway-signed URLs: a configured one, or the keys kept in the catalog (catalog/signing-keys.ts). */
  signingSecret: string | SigningKeys
  /** Outcome of the blob store check made at start; when absent the gateway checks once when it becomes ready. */
  storageReachable?: boolean
  /** Replays repeated requests of a connection in front of Fastify (replay.ts); buildApp's server has one. */
  replay?: Replay
}

/**
 * pkgway is the whole gateway as one Fastify plugin, so it can run alone (buildApp) or be mounted under a
 * prefix of an existing server: `app.register(pkgway, { prefix: '/dist', ...options })`.
 */
export const pkgway: FastifyPluginAsync<PkgwayOptions> = async (fastify, opts) => {
  await fastify.register(services, { ...opts, mountPrefix: fastify.prefix })
  fastify.decorate('authThrottle', new AuthThrottle(opts.config.authThrottle))
  await fastify.register(errorHandler)
  await fastify.register(metrics)
  if (opts.replay) await fastify.register(opts.replay.plugin)
  // JSON and JSON:API bodies; an empty body with a JSON Content-Type (body-less actions) is no body at all.
  const parseJson = fastify.getDefaultJsonParser('error', 'error')
  fastify.removeContentTypeParser('application/json')
  fastify.addContentTypeParser(
    ['application/json', 'application/vnd.api+json'],
    { parseAs: 'string' },
    (request, body, done) => (body === '' ? done(null, undefined) : parseJson(request, body as string, done)),
  )

  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header('X-Request-Id', request.id)
    done()
  })

  fastify.get('/v1/ping', async (_request, reply) => reply.code(200).send({ status: 'ok' }))
  fastify.get('/healthz', async (_request, reply) => reply.code(200).send({ status: 'ok' }))
  await fastify.register(health, { storageReachable: opts.storageReachable })

  await fastify.register(workers)
  fastify.uploadGate = artifactEvents(fastify).gate
  await fastify.register(blobRoute)

  for (const scope of SCOPE_PREFIXES) {
    await fastify.register(api, { prefix: scope })
    for (const engine of engines) {
      await fastify.register(engine.plugin, { prefix: `${scope}/engines/${engine.key}` })
    }
  }
  for (const engine of rootEngines) await fastify.register(engine.plugin, { prefix: engine.prefix })
}

/** Query parameters whose values are credentials or signatures; they never reach the logs. */
const SECRET_PARAMS = /([?&](?:auth|token|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token)=)[^&]*/gi

export function redactUrlSecrets(url: string): string {
  return url.replace(SECRET_PARAMS, '$1[redacted]')
}

/**
 * loggedUrl is what request logs show of a URL: the matched route's pattern, never the raw path (a path segment may
 * be a license key, as in `/v1/licenses/<key>`), and the query with credentials and signatures redacted.
 */
export function loggedUrl(request: FastifyRequest): string {
  const q = request.url.indexOf('?')
  const query = q === -1 ? '' : redactUrlSecrets(request.url.slice(q))
  return `${request.routeOptions?.url ?? '[no route]'}${query}`
}

export function loggerOptions(config: PkgwayConfig): FastifyServerOptions['logger'] {
  return {
    level: config.logLevel,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers.location', 'res.headers["set-cookie"]'],
      censor: '[redacted]',
    },
    serializers: {
      req: (req: FastifyRequest) => ({
        id: req.id,
        method: req.method,
        url: loggedUrl(req),
        userAgent: req.headers['user-agent'],
      }),
    },
  }
}

/**
 * frameworkErrors renders what Fastify rejects before routing (bad percent-encoding, over-long parameters) as
 * JSON:API too. Fastify's own message quotes the URL, which may carry a signature, so the detail is fixed.
 */
function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const { status, error } = toJsonApiError(err)
  reply.header('X-Request-Id', request.id)
  if (status >= 500) return sendJsonApiErrors(request, reply, status, [error])
  return sendJsonApiErrors(request, reply, status, [
    { title: error.title, detail: 'The request URL is malformed', code: 'BAD_REQUEST' },
  ])
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const

const CHILD_ARGS = Symbol('pkgway.childArgs')
const CHILD = Symbol('pkgway.child')

interface LazyLogger extends FastifyBaseLogger {
  [CHILD_ARGS]: [Bindings, ChildLoggerOptions]
  [CHILD]?: FastifyBaseLogger
}

/** The prototype of a logger's lazy request loggers, for the level it had when the prototype was made. */
const lazyPrototypes = new WeakMap<FastifyBaseLogger, { level: string; proto: FastifyBaseLogger }>()

/**
 * lazyPrototype is the server logger with each enabled level (and `child`) replaced by a method that first creates
 * the request's real pino child. Made once per logger and level, so a request only allocates its own small object.
 */
function lazyPrototype(logger: FastifyBaseLogger): FastifyBaseLogger {
  const known = lazyPrototypes.get(logger)
  if (known !== undefined && known.level === logger.level) return known.proto
  const real = (lazy: LazyLogger): FastifyBaseLogger => {
    lazy[CHILD] ??= logger.child(...lazy[CHILD_ARGS])
    return lazy[CHILD]
  }
  const proto: FastifyBaseLogger = Object.create(logger)
  for (const level of LEVELS) {
    if ((logger as Partial<Logger>).isLevelEnabled?.(level) ?? true) {
      proto[level] = function (this: LazyLogger, ...args: Parameters<LogFn>) {
        return real(this)[level](...args)
      }
    }
  }
  proto.child = function (this: LazyLogger, bindings, options) {
    return real(this).child(bindings, options)
  }
  lazyPrototypes.set(logger, { level: logger.level, proto })
  return proto
}

/**
 * lazyRequestLogger is each request's `request.log`: the server's logger that binds the request id only when a
 * message at an enabled level is written. A pino child per request costs more than a warm request's own work,
 * and at the usual levels (a warn-level gateway, an info-level one behind a CDN) most requests log nothing.
 */
function lazyRequestLogger(logger: FastifyBaseLogger, bindings: Bindings, opts: ChildLoggerOptions) {
  const lazy: LazyLogger = Object.create(lazyPrototype(logger))
  lazy[CHILD_ARGS] = [bindings, opts]
  return lazy
}

/** buildApp creates a stand-alone gateway. It never listens; server.ts does. */
export async function buildApp(
  opts: PkgwayOptions & { logger?: FastifyServerOptions['logger'] },
): Promise<FastifyInstance> {
  const replay = new Replay()
  const app = Fastify({
    // Node's HTTP server, as Fastify would make it, with replay in front of Fastify's request handler.
    serverFactory: (handler, options) => {
      const server = createServer((req, res) => {
        if (!replay.serve(req, res)) handler(req, res)
      })
      const { keepAliveTimeout, connectionTimeout } = options as {
        keepAliveTimeout?: number
        connectionTimeout?: number
      }
      server.keepAliveTimeout = keepAliveTimeout ?? 72_000
      server.setTimeout(connectionTimeout ?? 0)
      return server
    },
    logger: opts.logger ?? loggerOptions(opts.config),
    trustProxy: opts.config.trustProxy,
    genReqId: requestId,
    childLoggerFactory: lazyRequestLogger,
    bodyLimit: 1024 * 1024,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 1024, ignoreDuplicateSlashes: true },
    frameworkErrors,
  })
  // Bounds how long a client may hold a connection: its headers (slow-loris) and its whole request, upload bodies
  // included. Stalled upload bodies end sooner, per storage.uploadIdleTimeoutMs (storage/blob-route.ts).
  app.server.requestTimeout = opts.config.http.requestTimeoutMs
  app.server.headersTimeout = opts.config.http.headersTimeoutMs
  await app.register(pkgway, { ...opts, replay })
  return app
}
