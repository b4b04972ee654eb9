import type { FastifyRequest } from 'fastify'

/**
 * A per-connection memo of what a request's `Authorization` header derives to: its parsed credentials and their
 * HMAC (the largest part of authenticating a warm request). Keep-alive clients (pip, npm, gem, skopeo, containerd,
 * a CDN edge fetching for one client) repeat the same header on every request of a connection, so the next request
 * with the very same header and scope (the account) takes the value its predecessor derived. Each slot holds one
 * entry; another header or scope derives anew and replaces it. Like an HTTP/2 header table, a header stays with
 * the connection it came on and goes with it: nothing is shared between connections. Only derivations are kept,
 * never judgements: what the credentials grant (expiry, suspension, revocation) is decided on every request.
 */

const SLOTS = Symbol('pkgway.connectionMemo')

interface Entry {
  header: string
  scope: string
  value: unknown
}

type MemoSocket = { [SLOTS]?: Map<string, Entry> }

/**
 * connectionMemo returns derive() for the request's Authorization header, or the value derived for the same header
 * and scope by the previous request of the connection that used this slot. Requests without the header (query
 * credentials, anonymous) always derive.
 */
export function connectionMemo<T>(request: FastifyRequest, slot: string, scope: string, derive: () => T): T {
  const header = request.headers.authorization
  const socket = request.raw.socket as MemoSocket | null | undefined
  if (typeof header !== 'string' || !socket) return derive()
  let slots = socket[SLOTS]
  const entry = slots?.get(slot)
  if (entry !== undefined && entry.header === header && entry.scope === scope) return entry.value as T
  const value = derive()
  if (!slots) {
    slots = new Map()
    socket[SLOTS] = slots
  }
  slots.set(slot, { header, scope, value })
  return value
}
