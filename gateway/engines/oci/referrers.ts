import type { FastifyReply } from 'fastify'
import { parseDigest } from '../../../formats/oci/digest.ts'
import { ATTESTATION, MEDIA_TYPES } from '../../../formats/oci/media-types.ts'
import { canShowRelease } from '../../auth/policy.ts'
import type { RepositoryContext } from './context.ts'
import { digestInvalid } from './errors.ts'
import type { ServedManifest } from './repository.ts'
import { mayConsider } from './select.ts'

interface ReferrerDescriptor {
  mediaType: string
  digest: string
  size: number
  artifactType?: string
  annotations?: Record<string, string>
}

/**
 * `GET /v2/<name>/referrers/<digest>[?artifactType=]` (OCI 1.1): an image index of the manifests the caller may
 * pull that refer to the digest: those whose `subject` is it, and buildx attestation manifests whose index entry
 * names it (`vnd.docker.reference.digest`). An unknown digest has no referrers (an empty index, not a 404).
 * see: https://github.com/opencontainers/distribution-spec/blob/main/spec.md#listing-referrers
 */
export async function sendReferrers(
  ctx: RepositoryContext,
  digest: string,
  query: Record<string, unknown>,
  reply: FastifyReply,
): Promise<FastifyReply> {
  if (!parseDigest(digest)) throw digestInvalid(digest)
  const filter = typeof query.artifactType === 'string' ? query.artifactType : null
  const out: ReferrerDescriptor[] = []
  const seen = new Set<string>()
  for (const image of (await ctx.repository()).images) {
    if (!mayConsider(ctx.principal, image) || !canShowRelease(ctx.principal, image.release.facts, ctx.now).allow) {
      continue
    }
    for (const m of image.manifests.values()) {
      const entry = image.entryAnnotations.get(m.digest) ?? {}
      const attests = entry[ATTESTATION.typeKey] === ATTESTATION.typeValue && entry[ATTESTATION.digestKey] === digest
      if (seen.has(m.digest) || (m.parsed?.subject?.digest !== digest && !attests)) continue
      const artifactType = artifactTypeOf(m)
      if (filter !== null && artifactType !== filter) continue
      seen.add(m.digest)
      const annotations = { ...entry, ...m.parsed?.annotations }
      out.push({
        mediaType: m.mediaType,
        digest: m.digest,
        size: m.body.length,
        ...(artifactType ? { artifactType } : {}),
        ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      })
    }
  }
  if (filter !== null) reply.header('OCI-Filters-Applied', 'artifactType')
  return reply
    .code(200)
    .header('Cache-Control', 'private, no-cache')
    .header('Content-Type', MEDIA_TYPES.ociIndex)
    .send(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: out })))
}

/** artifactTypeOf: the manifest's artifactType, else its config's media type (the OCI 1.1 rule). */
function artifactTypeOf(m: ServedManifest): string | null {
  if (!m.parsed) return null
  if (m.parsed.artifactType) return m.parsed.artifactType
  return m.parsed.kind === 'manifest' ? m.parsed.config.mediaType : null
}
