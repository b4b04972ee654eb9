import type { FastifyRequest } from 'fastify'
import { badRequest } from '../errors.ts'

/**
 * Keygen pagination: `limit` (1–100, default 10) without a page, or `page[number]` + `page[size]`
 * (1–100) with links. Lists are ordered by created_at, newest first unless `order=asc`.
 * see: ../shared/spec/management-api.md §0 "Pagination", engines.md §1.8
 */

type Query = Record<string, unknown>

/** param reads a single-valued query parameter; repeated or array-valued ones are a 400. */
export function param(query: unknown, name: string): string | undefined {
  const v = (query as Query | undefined)?.[name]
  if (v === undefined) return undefined
  if (typeof v !== 'string') throw badRequest('must be a single string value', { parameter: name }, 'PARAMETER_INVALID')
  return v
}

/** listParam reads a repeatable query parameter (`entitlements[]=a&entitlements[]=b`) as a list. */
export function listParam(query: unknown, name: string): string[] | undefined {
  const v = (query as Query | undefined)?.[name]
  if (v === undefined) return undefined
  const values = Array.isArray(v) ? v : [v]
  if (values.some((x) => typeof x !== 'string')) {
    throw badRequest('must be a list of strings', { parameter: name }, 'PARAMETER_INVALID')
  }
  return values as string[]
}

function boundedInt(query: unknown, name: string, min: number, max: number): number | undefined {
  const raw = param(query, name)
  if (raw === undefined) return undefined
  if (!/^\d{1,6}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw badRequest(`must be a number between ${min} and ${max}`, { parameter: name }, 'PARAMETER_INVALID')
  }
  return Number(raw)
}

export interface PageRequest {
  order: 'asc' | 'desc'
  limit: number
  page?: { number: number; size: number }
}

export function parsePage(query: unknown): PageRequest {
  const orderRaw = param(query, 'order')
  if (orderRaw !== undefined && !['asc', 'desc'].includes(orderRaw.toLowerCase())) {
    throw badRequest('must be one of: asc, desc', { parameter: 'order' }, 'PARAMETER_INVALID')
  }
  const order = (orderRaw?.toLowerCase() ?? 'desc') as 'asc' | 'desc'
  const limit = boundedInt(query, 'limit', 1, 100) ?? 10
  const q = (query ?? {}) as Query
  if (q.page !== undefined)
    throw badRequest('must be an object with number and size', { parameter: 'page' }, 'PARAMETER_INVALID')
  const number = boundedInt(query, 'page[number]', 1, 10000)
  const size = boundedInt(query, 'page[size]', 1, 100)
  if (number === undefined && size === undefined) return { order, limit }
  return { order, limit, page: { number: number ?? 1, size: size ?? limit } }
}

/** sortByCreated orders rows by created_at (then id, for a stable order) as the page asks. */
export function sortByCreated<T extends { created_at: string; id: string }>(rows: T[], order: 'asc' | 'desc'): T[] {
  const dir = order === 'asc' ? 1 : -1
  return [...rows].sort((a, b) =>
    a.created_at < b.created_at ? -dir : a.created_at > b.created_at ? dir : a.id < b.id ? -dir : dir,
  )
}

const SECRET_PARAMS = new Set(['token', 'auth'])

/** requestUrl parses the request URL with duplicate slashes folded (`//v1/x` is a path, not a host). */
function requestUrl(request: FastifyRequest): URL {
  const q = request.url.indexOf('?')
  const path = (q === -1 ? request.url : request.url.slice(0, q)).replace(/\/{2,}/g, '/')
  return new URL(path + (q === -1 ? '' : request.url.slice(q)), 'http://x')
}

function pageLink(request: FastifyRequest, number: number, size: number): string {
  const url = requestUrl(request)
  for (const key of [...url.searchParams.keys()]) if (SECRET_PARAMS.has(key)) url.searchParams.delete(key)
  url.searchParams.set('page[number]', String(number))
  url.searchParams.set('page[size]', String(size))
  return `${url.pathname}?${url.searchParams.toString().replace(/%5B/g, '[').replace(/%5D/g, ']')}`
}

/** paginate slices already ordered rows and builds Keygen's links and meta. */
export function paginate<T>(request: FastifyRequest, rows: T[], page: PageRequest) {
  if (!page.page)
    return { items: rows.slice(0, page.limit), links: { self: selfLink(request) } as Record<string, unknown> }
  const { number, size } = page.page
  const count = rows.length
  const pages = Math.max(1, Math.ceil(count / size))
  const items = rows.slice((number - 1) * size, number * size)
  return {
    items,
    links: {
      self: pageLink(request, number, size),
      prev: number > 1 ? pageLink(request, number - 1, size) : null,
      next: number < pages ? pageLink(request, number + 1, size) : null,
      first: pageLink(request, 1, size),
      last: pageLink(request, pages, size),
      meta: { pages, count },
    } as Record<string, unknown>,
  }
}

function selfLink(request: FastifyRequest): string {
  const url = requestUrl(request)
  for (const key of [...url.searchParams.keys()]) if (SECRET_PARAMS.has(key)) url.searchParams.delete(key)
  const qs = url.searchParams.toString()
  return qs ? `${url.pathname}?${qs}` : url.pathname
}
