import type { FastifyReply } from 'fastify'
import { isTag } from '../../../formats/oci/digest.ts'
import { artifactInScope } from '../../auth/policy.ts'
import { listReleases } from '../../read-model/lookup.ts'
import type { RepositoryContext } from './context.ts'
import { OciError } from './errors.ts'

/**
 * `GET /v2/<name>/tags/list[?n=&last=]`: the references the caller can pull, i.e. the tag and the version of every
 * release it may see (scope and show rule) that has an image it may pull, in lexical order (tags that are not
 * valid OCI tags, like versions with `+build`, are left out). `n` and `last` page through them, with a `Link`
 * header to the next page.
 * see: https://github.com/opencontainers/distribution-spec/blob/main/spec.md#listing-tags · engines.md §4.10
 */
export async function sendTags(
  ctx: RepositoryContext,
  query: Record<string, unknown>,
  linkBase: string,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const n = pageSize(query.n)
  const last = typeof query.last === 'string' ? query.last : null
  const { principal, now } = ctx
  const pullable = new Set<string>()
  for (const image of (await ctx.repository()).images) {
    if (image.roots.length > 0 && artifactInScope(principal, image.release.facts, image.artifact, now)) {
      pullable.add(image.release.row.id)
    }
  }
  const tags = new Set<string>()
  for (const release of listReleases(ctx.snap, principal, { package: ctx.pkg.id }, undefined, now)) {
    if (!pullable.has(release.row.id)) continue
    for (const ref of [release.row.tag, release.row.version]) if (ref !== null && isTag(ref)) tags.add(ref)
  }
  const sorted = [...tags].sort().filter((t) => last === null || t > last)
  const page = n === null ? sorted : sorted.slice(0, n)
  if (n !== null && n > 0 && sorted.length > n) {
    const next = `${linkBase}v2/${ctx.name}/tags/list?n=${n}&last=${encodeURIComponent(page[page.length - 1])}`
    reply.header('Link', `<${next}>; rel="next"`)
  }
  return reply
    .code(200)
    .header('Cache-Control', 'private, no-cache')
    .type('application/json; charset=utf-8')
    .send({ name: ctx.name, tags: page })
}

function pageSize(value: unknown): number | null {
  if (value === undefined) return null
  if (typeof value !== 'string' || !/^\d{1,6}$/.test(value)) {
    throw new OciError('PAGINATION_NUMBER_INVALID', 'invalid number of results requested', 400, { n: value })
  }
  return Number(value)
}
