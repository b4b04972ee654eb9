import type { FastifyReply, FastifyRequest } from 'fastify'
import { parseAccept } from '../../../formats/oci/accept.ts'
import { looksLikeDigest, isTag, parseDigest } from '../../../formats/oci/digest.ts'
import { etagMatches } from '../../conditional.ts'
import { digestInvalid, manifestUnknown, referenceInvalid } from './errors.ts'
import type { RepositoryContext } from './context.ts'
import { digestCandidates, firstAllowed, tagCandidates } from './select.ts'

/** Manifests may be revalidated cheaply (ETag); clients do not cache them for long (engines.md §1.6). */
const MANIFEST_CACHE_CONTROL = 'max-age=600, private, no-transform'

/**
 * `GET|HEAD /v2/<name>/manifests/<reference>`: the reference is a digest, or a tag naming a release by its tag or
 * version. The manifest is sent as stored, with its media type as Content-Type (skopeo reads anything else as
 * schema 1) and `Docker-Content-Digest` on GET and HEAD (containerd otherwise GETs again to compute it).
 * see: ../shared/spec/engines.md §2.5, §4.11 · ../shared/spec/clients.md §4
 */
export async function serveManifest(
  ctx: RepositoryContext,
  reference: string,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const accepted = parseAccept(request.headers.accept)
  let found: ReturnType<typeof tagCandidates>
  if (looksLikeDigest(reference)) {
    if (!parseDigest(reference)) throw digestInvalid(reference)
    found = digestCandidates(await ctx.repository(), ctx.principal, reference, accepted)
  } else {
    if (!isTag(reference)) throw referenceInvalid(reference)
    found = tagCandidates(await ctx.repository(), ctx.principal, reference, accepted)
  }
  if (found.candidates.length === 0) {
    throw manifestUnknown(
      reference,
      found.found ? 'manifest unknown: its media type is not in the Accept header' : 'manifest unknown',
    )
  }
  const { manifest } = firstAllowed(ctx.principal, found.candidates, (c) => c.image.release, ctx.now)
  reply
    .header('Docker-Content-Digest', manifest.digest)
    .header('ETag', manifest.etag)
    .header('Cache-Control', MANIFEST_CACHE_CONTROL)
    .header('Vary', 'Accept, Authorization')
  if (etagMatches(request.headers['if-none-match'], manifest.etag)) return reply.code(304).send()
  return reply.code(200).header('Content-Type', manifest.mediaType).send(manifest.body)
}
