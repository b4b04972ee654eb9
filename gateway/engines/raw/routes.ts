import type { FastifyInstance } from 'fastify'
import { findArtifact, findProduct, releaseNotFound } from '../../api/lookup.ts'
import { artifactPath } from '../../api/serializers.ts'
import authenticate from '../../auth/plugin.ts'
import { notFound } from '../../errors.ts'

/** parseRawPath splits `<product>/[@<package>/]<release>/<artifact…>`; the artifact part may contain `/`. */
export function parseRawPath(
  path: string,
): { product: string; package: string; release: string; artifact: string } | null {
  const parts = path.split('/')
  const [product, second] = parts
  const packaged = second?.startsWith('@')
  const rest = parts.slice(packaged ? 2 : 1)
  if (!product || rest.length < 2) return null
  const pkg = packaged ? second.slice(1) : ''
  if (packaged && pkg === '') return null
  const artifact = rest.slice(1).join('/')
  if (!rest[0] || !artifact) return null
  return { product, package: pkg, release: rest[0], artifact }
}

/**
 * The Raw engine: `GET …/engines/raw/<product>/[@<package>/]<release>/<artifact>` answers 303 to the artifact's
 * download URL, keeping the query string so `?auth=license:KEY` survives the hop. The release is a UUID, version
 * or tag (`latest` is only a tag); without `@package` only package-less releases match.
 * see: ../shared/spec/engines.md §2.7, §4.15
 */
export async function rawEngine(fastify: FastifyInstance) {
  await fastify.register(authenticate, { challenge: 'Bearer', realm: 'keygen' })

  fastify.get<{ Params: { '*': string } }>('/*', async (request, reply) => {
    const path = request.params['*']
    const parsed = parseRawPath(path)
    if (!parsed) throw notFound(`The requested artifact '${path}' was not found`)
    const product = await findProduct(fastify.catalog.db, request.account.id, parsed.product)
    if (!product) throw releaseNotFound(parsed.release)
    const { row } = await findArtifact(request, parsed.artifact, {
      product: product.id,
      package: parsed.package,
      release: parsed.release,
    })
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : ''
    const base = fastify.baseUrl(request)
    reply.header('Location', `${base}${artifactPath(row).slice(1)}${query}`)
    return reply.code(303).send()
  })
}
