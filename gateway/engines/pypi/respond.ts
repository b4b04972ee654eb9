import { etagMatches } from '../../conditional.ts'
import { createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'

/**
 * A rendered response body with its validator, computed once and cached: a hot page costs a revision lookup
 * and a hash-map hit, never a render.
 */
export interface RenderedPage {
  body: Buffer
  contentType: string
  /** Weak ETag over the body, e.g. `W/"3f2a…"`. */
  etag: string
  /** Exactly what an anonymous caller gets, so shared caches (CDNs) may store it. */
  isPublic: boolean
}

/** Lifetime clients and caches may reuse a page for; pip revalidates anyway (it sends max-age=0 + ETag). */
export const PAGE_MAX_AGE = 600

export function renderedPage(body: string | Buffer, contentType: string, isPublic: boolean): RenderedPage {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body
  const digest = createHash('sha256').update(contentType).update('\n').update(bytes).digest('hex').slice(0, 32)
  return { body: bytes, contentType, etag: `W/"${digest}"`, isPublic }
}

/**
 * sendPage answers with the page or a 304. `Vary: Accept, Authorization` keeps a shared cache from handing one
 * caller's representation or view to another; `public` is used only when the view is the anonymous one.
 */
export function sendPage(request: FastifyRequest, reply: FastifyReply, page: RenderedPage): FastifyReply {
  reply.header('Vary', 'Accept, Authorization')
  reply.header('ETag', page.etag)
  reply.header('Cache-Control', `${page.isPublic ? 'public' : 'private'}, max-age=${PAGE_MAX_AGE}`)
  if (etagMatches(request.headers['if-none-match'], page.etag)) return reply.code(304).send()
  return reply.code(200).type(page.contentType).send(page.body)
}
