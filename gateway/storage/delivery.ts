import type { FastifyReply, FastifyRequest } from 'fastify'
import { request as undiciRequest } from 'undici'
import { BlobNotFoundError, BlobStoreError } from './blob-store.ts'
import { serveBlob } from './serve-blob.ts'

const FORWARDED_REQUEST_HEADERS = ['range', 'if-none-match', 'if-range', 'if-modified-since'] as const
const FORWARDED_RESPONSE_HEADERS = [
  'content-type',
  'content-length',
  'content-range',
  'content-disposition',
  'etag',
  'last-modified',
  'accept-ranges',
] as const

/**
 * proxyBlob streams an object to the client itself, for deployments whose storage clients cannot reach
 * (`storage.delivery: proxy`). The filesystem store is read directly; others through their presigned URL,
 * passing Range, ETag and Content-Length through.
 */
export async function proxyBlob(
  request: FastifyRequest,
  reply: FastifyReply,
  key: string,
  filename?: string,
): Promise<FastifyReply> {
  const { blobs } = request.server
  if (blobs.name === 'filesystem') return serveBlob(blobs, key, request, reply, { filename })
  const url = await blobs.redirectUrl(key, request.method === 'HEAD' ? 'HEAD' : 'GET', {
    baseUrl: request.server.linkBase,
    filename,
    ttl: 300,
  })
  const headers: Record<string, string> = {}
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const v = request.headers[name]
    if (typeof v === 'string') headers[name] = v
  }
  const upstream = await undiciRequest(url, {
    method: request.method === 'HEAD' ? 'HEAD' : 'GET',
    headers,
    headersTimeout: 30_000,
    bodyTimeout: 60_000,
  }).catch((err) => {
    throw new BlobStoreError(blobs.name, `fetching ${key} failed: ${(err as Error).message}`, err)
  })
  if (upstream.statusCode >= 400 && upstream.statusCode !== 416) {
    await upstream.body.dump()
    if (upstream.statusCode === 404) throw new BlobNotFoundError(key, blobs.name)
    const status = upstream.statusCode
    throw new BlobStoreError(blobs.name, `storage answered ${status} for ${key}`, undefined, status >= 500)
  }
  reply.code(upstream.statusCode)
  for (const name of FORWARDED_RESPONSE_HEADERS) {
    const v = upstream.headers[name]
    if (typeof v === 'string') reply.header(name, v)
  }
  return reply.send(upstream.body)
}
