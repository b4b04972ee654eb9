import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyPluginAsync,
  type FastifyRequest, type FastifyServerOptions } from 'fastify'
import type { PkgwayConfig } from '../config/schema.ts'
import type { Catalog } from './catalog/db.ts'
import errorHandler from './plugins/error-handler.ts'
import services from './plugins/services.ts'
import type { BlobStore } from './storage/blob-store.ts'
import { blobRoute } from './storage/blob-route.ts'

export interface PkgwayOptions {
  config: PkgwayConfig
  catalog: Catalog
  blobs: BlobStore
  signingSecret: string
}


/**
 * pkgway is the whole gateway as one Fastify plugin, so it can run alone (buildApp) or be mounted under a
 * prefix of an existing server: `app.register(pkgway, { prefix: '/dist', ...options })`.
 */
export const pkgway: FastifyPluginAsync<PkgwayOptions> = async (fastify, opts) => {
  await fastify.register(services, { ...opts, mountPrefix: fastify.prefix })
  await fastify.register(errorHandler)
  fastify.addContentTypeParser(
    'application/vnd.api+json',
    { parseAs: 'string' },
    fastify.getDefaultJsonParser('error', 'error'),
  )

  fastify.addHook('onRequest', async (request, reply) => {
    reply.header('X-Request-Id', request.id)
  })

  fastify.get('/v1/ping', async (_request, reply) => reply.code(200).send({ status: 'ok' }))
  fastify.get('/healthz', async (_request, reply) => reply.code(200).send({ status: 'ok' }))

  await fastify.register(blobRoute)
}

/** Query parameters whose values are credentials or signatures; they never reach the logs. */
const SECRET_PARAMS = /([?&](?:auth|token|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token)=)[^&]*/gi

export function redactUrlSecrets(url: string): string {
  return url.replace(SECRET_PARAMS, '$1[redacted]')
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
        url: redactUrlSecrets(req.url),
        userAgent: req.headers['user-agent'],
      }),
    },
  }
}

/** buildApp creates a stand-alone gateway. It never listens; server.ts does. */
export async function buildApp(opts: PkgwayOptions & { logger?: FastifyServerOptions['logger'] }): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? loggerOptions(opts.config),
    trustProxy: opts.config.trustProxy,
    genReqId: () => randomUUID(),
    bodyLimit: 1024 * 1024,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 1024, ignoreDuplicateSlashes: true },
  })
  await app.register(pkgway, opts)
  return app
}
