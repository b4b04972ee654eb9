import { createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { etagMatches } from '../conditional.ts'

/**
 * A rendered metadata body (PyPI page, packument, compact index file, Marshal index) with its validators,
 * computed once per content revision and visibility class and then served from memory: a warm request costs a map
 * lookup.
 */
export interface RenderedBody {
  body: Buffer
  contentType: string
  /** Strong ETag: the quoted MD5 hex of the body, which is what Bundler checks after appending a 206 part. */
  etag: string
  /** `Repr-Digest` (RFC 9530) of the whole body: `sha-256=:<base64>:`, what Bundler ≥ 2.5 checks instead. */
  reprDigest: string
  /** Exactly what an anonymous caller gets, so shared caches (CDNs) may store it. */
  isPublic: boolean
}

/** renderedBody computes the validators of a body once. */
export function renderedBody(body: string | Buffer, contentType: string, isPublic: boolean): RenderedBody {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body
  return {
    body: bytes,
    contentType,
    etag: `"${createHash('md5').update(bytes).digest('hex')}"`,
    reprDigest: `sha-256=:${createHash('sha256').update(bytes).digest('base64')}:`,
    isPublic,
  }
}

export interface SendOptions {
  /** Seconds clients may reuse the body without asking; 0 adds `must-revalidate` (every use asks, 304 is cheap). */
  maxAge: number
  /** Answer `Range: bytes=N-` (and `N-M`) with 206; unsatisfiable or other ranges get the whole body. */
  ranges?: boolean
  /** Extra attributes for `Content-Disposition`, e.g. `attachment; filename="x"`. */
  disposition?: string
  /** Request headers that change the body besides the URL; default `Authorization`. */
  vary?: string
}

/** openRange reads a single `bytes=N-` or `bytes=N-M` range that starts inside the body, or null. */
function openRange(header: string | undefined, length: number): { start: number; end: number } | null {
  const m = header === undefined ? null : /^bytes=(\d{1,15})-(\d{0,15})$/.exec(header.trim())
  if (!m) return null
  const start = Number(m[1])
  const end = m[2] === '' ? length - 1 : Math.min(Number(m[2]), length - 1)
  return start < length && start <= end ? { start, end } : null
}

/**
 * sendRendered answers with the body, a 304 when `If-None-Match` names its ETag, or a 206 part when a range is
 * asked for. `Vary` (`Authorization` at least) keeps a shared cache from handing one caller's view to another;
 * `public` only when the view is the anonymous one.
 */
export function sendRendered(
  request: FastifyRequest,
  reply: FastifyReply,
  page: RenderedBody,
  opts: SendOptions,
): FastifyReply {
  reply.header('Vary', opts.vary ?? 'Authorization')
  reply.header('ETag', page.etag)
  const revalidate = opts.maxAge === 0 ? ', must-revalidate' : ''
  reply.header('Cache-Control', `${page.isPublic ? 'public' : 'private'}, max-age=${opts.maxAge}${revalidate}`)
  // A 304 carries the validators and caching fields only (RFC 9110 §15.4.5): the body's digest and disposition
  // describe bytes it does not send.
  if (etagMatches(request.headers['if-none-match'], page.etag)) return reply.code(304).send()
  reply.header('Repr-Digest', page.reprDigest)
  if (opts.disposition) reply.header('Content-Disposition', opts.disposition)
  reply.type(page.contentType)
  if (!opts.ranges) return reply.code(200).send(page.body)
  reply.header('Accept-Ranges', 'bytes')
  const range = openRange(request.headers.range, page.body.length)
  if (!range) return reply.code(200).send(page.body)
  reply.header('Content-Range', `bytes ${range.start}-${range.end}/${page.body.length}`)
  return reply.code(206).send(page.body.subarray(range.start, range.end + 1))
}
