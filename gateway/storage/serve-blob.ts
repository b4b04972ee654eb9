import { etagMatches } from '../conditional.ts'
import { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { BlobInfo, BlobStore } from './blob-store.ts'
import { contentDisposition } from './s3-store.ts'

export type ByteRange = { start: number; end: number } | 'unsatisfiable' | null

/** parseRange understands one `bytes=` range (first-last, first-, -suffix); anything else serves the whole blob. */
export function parseRange(header: string | undefined, size: number): ByteRange {
  if (!header) return null
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!m || (m[1] === '' && m[2] === '')) return null
  if (m[1] === '') {
    const suffix = Number(m[2])
    if (suffix === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(m[1])
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)
  if (start >= size || end < start) return 'unsatisfiable'
  return { start, end }
}

/**
 * serveBlob streams a stored object with ETag, conditional GET, a single byte range and HEAD support,
 * the way a presigned storage URL would answer.
 */
export async function serveBlob(
  store: BlobStore,
  key: string,
  request: FastifyRequest,
  reply: FastifyReply,
  opts: { filename?: string; info?: BlobInfo } = {},
): Promise<FastifyReply> {
  const info = opts.info ?? (await store.stat(key))
  reply.header('ETag', info.etag)
  reply.header('Last-Modified', info.lastModified.toUTCString())
  reply.header('Accept-Ranges', 'bytes')
  reply.header('Content-Type', 'application/octet-stream')
  if (opts.filename) reply.header('Content-Disposition', contentDisposition(opts.filename))
  if (etagMatches(request.headers['if-none-match'], info.etag)) return reply.code(304).send()
  let range = parseRange(request.headers.range, info.size)
  const ifRange = request.headers['if-range']
  if (range && ifRange && ifRange !== info.etag) range = null
  if (range === 'unsatisfiable') {
    return reply.code(416).header('Content-Range', `bytes */${info.size}`).send()
  }
  const start = range ? range.start : 0
  const length = range ? range.end - range.start + 1 : info.size
  if (range) reply.code(206).header('Content-Range', `bytes ${range.start}-${range.end}/${info.size}`)
  reply.header('Content-Length', String(length))
  // NOTE: HEAD answers an empty stream, not an empty reply: Fastify's automatic HEAD route rewrites the
  // Content-Length of a reply without payload to 0, but leaves streamed replies alone.
  if (request.method === 'HEAD') return reply.send(Readable.from([]))
  if (length === 0) return reply.send()
  return reply.send(await store.read(key, { offset: start, length }))
}
