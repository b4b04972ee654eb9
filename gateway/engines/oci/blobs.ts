import { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Kysely } from 'kysely'
import { LRUCache } from 'lru-cache'
import { parseDigest } from '../../../formats/oci/digest.ts'
import { findDescriptorsByDigest } from '../../catalog/oci.ts'
import type { Database, DescriptorRow } from '../../catalog/types.ts'
import { proxyBlob } from '../../storage/delivery.ts'
import { ociBlobKey } from '../../storage/keys.ts'
import type { RepositoryContext } from './context.ts'
import { blobUnknown, digestInvalid } from './errors.ts'
import { firstAllowed, mayConsider } from './select.ts'

/** Descriptor lookups kept per snapshot: their own bounded map, so many layers do not push other memos out. */
const MAX_DIGESTS_PER_SNAPSHOT = 10_000

function descriptorsOf(ctx: RepositoryContext, db: Kysely<Database>, digest: string): Promise<DescriptorRow[]> {
  const byDigest = ctx.snap.memo(
    'oci:descriptors',
    () => new LRUCache<string, Promise<DescriptorRow[]>>({ max: MAX_DIGESTS_PER_SNAPSHOT }),
  )
  let rows = byDigest.get(digest)
  if (!rows) {
    rows = findDescriptorsByDigest(db, ctx.account.id, digest)
    byDigest.set(digest, rows)
    rows.catch(() => byDigest.delete(digest))
  }
  return rows
}

/**
 * `GET|HEAD /v2/<name>/blobs/<digest>`: HEAD answers 200 with the digest and length; GET answers 307 to the blob in
 * storage, a presigned URL on another host (S3), or the gateway-signed `/v1/blobs/…` URL (filesystem store), or
 * streams it when `storage.delivery` is `proxy`. A blob is served when one of the package's images the caller may
 * pull holds it (manifests are blobs too). Descriptors by digest are read once per snapshot.
 * see: ../shared/spec/engines.md §2.5, §4.12 · ../shared/spec/clients.md §4, §7
 */
export async function sendBlob(
  ctx: RepositoryContext,
  digest: string,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  if (!parseDigest(digest)) throw digestInvalid(digest)
  const { snap, principal } = ctx
  const server = request.server
  const rows = await descriptorsOf(ctx, server.catalog.db, digest)
  const candidates = rows.flatMap((row: DescriptorRow) => {
    const artifact = snap.artifactsById.get(row.artifact_id)
    const release = snap.releasesById.get(row.release_id)
    if (!artifact || !release || release.row.package_id !== ctx.pkg.id) return []
    return mayConsider(principal, { artifact, release }) ? [{ row, release }] : []
  })
  if (candidates.length === 0) throw blobUnknown(digest)
  const { row } = firstAllowed(principal, candidates, (c) => c.release, ctx.now)
  reply.header('Docker-Content-Digest', digest)
  if (request.method === 'HEAD') {
    // An empty stream, not an empty reply: Fastify would rewrite the Content-Length of the latter to 0.
    return reply
      .code(200)
      .header('Content-Type', 'application/octet-stream')
      .header('Content-Length', String(row.content_length ?? 0))
      .send(Readable.from([]))
  }
  const key = ociBlobKey(ctx.account.id, digest)
  if (server.config.storage.delivery === 'proxy') return proxyBlob(request, reply, key)
  const url = await server.blobs.redirectUrl(key, 'GET', { baseUrl: server.linkBase })
  return reply.code(307).header('Location', url).send()
}
