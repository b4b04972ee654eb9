import type { FastifyInstance } from 'fastify'
import authenticate from '../../auth/plugin.ts'
import { notFound } from '../../errors.ts'
import { artifactDownloadPath, queryOf } from '../../read-model/links.ts'
import { findArtifact, findProduct, releaseNotFound } from '../../read-model/lookup.ts'

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
 * download route, keeping the query string so `?auth=license:KEY` survives the hop (to the gateway itself, never
 * elsewhere). The release is a UUID, version or tag (`latest` is only a tag); without `@package` only
 * package-less releases match. Served from the read model's snapshot: no catalog round trip when warm.
 * see: ../shared/spec/engines.md §2.7, §4.15
 */
export async function rawEngine(fastify: FastifyInstance) {
  await fastify.register(authenticate, { challenge: 'Bearer', realm: 'keygen' })
  const { readModel, linkBase } = fastify

  fastify.get<{ Params: { '*': string } }>('/*', { config: { replay: true } }, async (request, reply) => {
    const path = request.params['*']
    const parsed = parseRawPath(path)
    if (!parsed) throw notFound(`The requested artifact '${path}' was not found`)
    const snap = await readModel.snapshot(request.account.id)
    const product = findProduct(snap, parsed.product)
    if (!product) throw releaseNotFound(parsed.release)
    const { row } = findArtifact(snap, request.principal, parsed.artifact, {
      product: product.id,
      package: parsed.package,
      release: parsed.release,
    })
    return reply
      .code(303)
      .header('Location', `${linkBase}${artifactDownloadPath(row)}${queryOf(request.url)}`)
      .send()
  })
}
