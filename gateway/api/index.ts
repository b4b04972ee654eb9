import type { FastifyInstance } from 'fastify'
import authenticate from '../auth/plugin.ts'
import { badRequest } from '../errors.ts'
import { artifactRoutes } from './artifacts.ts'
import { constraintRoutes } from './constraints.ts'
import { engineRoutes } from './engine-routes.ts'
import { entitlementRoutes } from './entitlements.ts'
import { licenseRoutes } from './licenses.ts'
import { packageRoutes } from './packages.ts'
import { policyRoutes } from './policies.ts'
import { productRoutes } from './products.ts'
import { userRoutes } from './users.ts'
import { releaseRoutes } from './releases.ts'
import { loginRoute, tokenRoutes } from './token-routes.ts'
import { upgradeRoutes } from './upgrade.ts'

export const API_VERSION = '1.8'
const SUPPORTED_VERSIONS = /^1\.[1-8]$/

/**
 * api is the Keygen-compatible management API (JSON:API), registered under both `/v1` and
 * `/v1/accounts/:account`. see: ../shared/spec/management-api.md §6
 */
export async function api(fastify: FastifyInstance) {
  fastify.addHook('onRequest', async (request, reply) => {
    const requested = request.headers['keygen-version']
    reply.header(
      'Keygen-Version',
      typeof requested === 'string' && SUPPORTED_VERSIONS.test(requested) ? requested : API_VERSION,
    )
    reply.header('Cache-Control', 'no-store, max-age=0')
    if (requested !== undefined && (typeof requested !== 'string' || !SUPPORTED_VERSIONS.test(requested))) {
      throw badRequest('unsupported API version requested', { header: 'Keygen-Version' }, 'INVALID_API_VERSION')
    }
  })

  await fastify.register(loginRoute)
  await fastify.register(async (scope) => {
    await scope.register(authenticate, { challenge: 'Bearer', realm: 'keygen' })
    scope.addHook('onRequest', async (request, reply) => {
      reply.header('Keygen-Account', request.account.id)
    })
    await scope.register(releaseRoutes)
    await scope.register(upgradeRoutes)
    await scope.register(constraintRoutes)
    await scope.register(artifactRoutes)
    for (const routes of [productRoutes, packageRoutes, entitlementRoutes, policyRoutes, licenseRoutes, userRoutes]) {
      await scope.register(routes)
    }
    await scope.register(tokenRoutes)
    await scope.register(engineRoutes)
  })
}
