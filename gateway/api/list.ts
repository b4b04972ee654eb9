import type { FastifyReply, FastifyRequest } from 'fastify'
import { type ResourceObject, sendDocument } from './jsonapi.ts'
import { type PageRequest, paginate, sortByCreated } from './pagination.ts'

/** sendList answers a list route: rows ordered by created_at as the page asks, one page of them, with links. */
export function sendList<T extends { created_at: string; id: string }>(
  request: FastifyRequest,
  reply: FastifyReply,
  page: PageRequest,
  rows: T[],
  serialize: (row: T) => ResourceObject,
): FastifyReply {
  const { items, links } = paginate(request, sortByCreated(rows, page.order), page)
  return sendDocument(request, reply, 200, { data: items.map(serialize), links })
}
