import type { FastifyRequest } from 'fastify'

/**
 * removeBlobs deletes stored objects after their rows are gone. A storage failure is logged, not answered: the
 * delete has already happened in the catalog, and a 5xx would make the keygen CLI panic. What is left behind is
 * unreachable (no row points at it).
 */
export async function removeBlobs(request: FastifyRequest, what: { keys?: string[]; prefixes?: string[] }) {
  const { blobs } = request.server
  const remove = (key: string) =>
    blobs.delete(key).catch((err) => request.log.warn({ err, key, store: blobs.name }, 'blob delete failed'))
  for (const key of what.keys ?? []) await remove(key)
  for (const prefix of what.prefixes ?? []) {
    try {
      for await (const key of blobs.list(prefix)) await remove(key)
    } catch (err) {
      request.log.warn({ err, prefix, store: blobs.name }, 'blob listing failed')
    }
  }
}
