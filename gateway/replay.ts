import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import type { Logger } from 'pino'
import type { AuthThrottle } from './auth/throttle.ts'
import { cacheLookupRecorder, requestRecorder } from './metrics.ts'
import { engineOf } from './plugins/metrics.ts'
import type { ReadModel } from './read-model/read-model.ts'
import { requestId } from './request-id.ts'

/**
 * Replay: a keep-alive connection that repeats a request byte for byte (request line and every header) gets the
 * answer its previous identical request got, written before Fastify routes it, as long as that answer would not
 * differ:
 * - no revision this instance knows of has moved since the answer was computed (any write anywhere ends it);
 * - the credential it was judged for has not reached its next expiry (a license or token expiring changes access
 *   and visibility), nor a registry token its own;
 * - it is at most {@link REPLAY_MAX_AGE_MS} old (signed URLs in redirects are then still well within their life);
 * - the client's address has no failed authentication in the throttle's window, and the gateway is not closing.
 * Only routes that opt in (`config: { replay: true }`) are remembered: GETs whose answer is a function of the
 * request, the catalog's content and credentials and the clock, and nothing else (engine metadata, download
 * redirects). Only their 200, 204, 206, 303, 304 and 307 answers, with a body of at most {@link MAX_BODY_BYTES},
 * and only when the request was authenticated through {@link judgedCredential}. A replayed answer gets its own
 * `X-Request-Id`, is counted in the request metrics like any other, and at `info` writes the two lines Fastify
 * writes for a request (`incoming request`, `request completed`).
 *
 * Like the connection memo (auth/connection-memo.ts), what a request sent stays on the connection it came on:
 * nothing is shared between connections, and the remembered answers go with the socket.
 */

/** The longest a remembered answer is replayed, even while nothing changes. */
export const REPLAY_MAX_AGE_MS = 1000
/** Answers remembered per connection; the oldest goes first. */
const MAX_ENTRIES = 4
/** Larger bodies are not remembered: the whole cost of such a request is its transfer. */
const MAX_BODY_BYTES = 1024 * 1024
const REPLAYABLE_STATUS = new Set([200, 204, 206, 303, 304, 307])
const recordReplay = cacheLookupRecorder('replay')

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's GET answers may be replayed on their connection (gateway/replay.ts). */
    replay?: boolean
  }
}

const STAMP = Symbol('pkgway.replay.stamp')
const ENTRIES = Symbol('pkgway.replay.entries')
/** The route's payload was not a body that can be written again (a stream). */
const UNREPLAYABLE = Symbol('pkgway.replay.unreplayable')

/** What the front knows of a GET while Fastify answers it. */
interface Stamp {
  /** The read model's generation when the request arrived: the answer is at least this fresh. */
  generation: number
  /** Whether authentication said which credential the answer was judged for. */
  judged: boolean
  /** The credential's cache key (read-model.ts), or null for a request without credentials. */
  key: string | null
  /** Epoch ms at which the judgement ends for a reason of its own (a registry token's expiry). */
  until: number
  body: Buffer | string | typeof UNREPLAYABLE
}

interface Entry {
  /** The client's address as the throttle knows it (`request.ip`, which honours trustProxy). */
  ip: string
  url: string
  httpVersion: string
  rawHeaders: string[]
  generation: number
  expiresAt: number
  status: number
  /** The answer's headers as a flat name, value list, ending with `x-request-id` and a slot for its value. */
  headers: (string | number | string[])[]
  body: Buffer | string
  /** The route pattern, which request log lines name instead of the path. */
  route: string
  record: (seconds: number) => void
}

type StampedRequest = IncomingMessage & { [STAMP]?: Stamp }
type RememberingSocket = { [ENTRIES]?: Entry[] }

interface ReplayDeps {
  model: ReadModel
  throttle: AuthThrottle
  log: FastifyBaseLogger
}

/** logsRequests: Fastify writes two lines per request at info, and so does a replayed request. */
const logsRequests = (log: FastifyBaseLogger): boolean => (log as Partial<Logger>).isLevelEnabled?.('info') ?? false

/**
 * judgedCredential tells replay which credential a request's answer was judged for (its read-model cache key, null
 * without credentials), and any instant at which that judgement ends on its own. Authentication calls it; a route
 * whose requests never pass here is never replayed.
 */
export function judgedCredential(request: FastifyRequest, key: string | null, until = Number.POSITIVE_INFINITY) {
  const stamp = (request.raw as StampedRequest)[STAMP]
  if (stamp === undefined) return
  // Two credentials judged for one answer: which one it depends on is not known, so it is not replayed.
  if (stamp.judged && stamp.key !== key) stamp.until = 0
  stamp.judged = true
  stamp.key = key
  if (until < stamp.until) stamp.until = until
}

export class Replay {
  #deps: ReplayDeps | null = null
  #closing = false

  /**
   * serve answers the request from its connection's remembered answers and returns true, or stamps it and returns
   * false for Fastify to answer. It is the server's request listener, in front of Fastify's.
   */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    const deps = this.#deps
    if (deps === null || req.method !== 'GET') return false
    const generation = deps.model.generation
    const entries = (req.socket as RememberingSocket)[ENTRIES]
    const entry = entries === undefined ? undefined : findEntry(entries, req)
    if (entries !== undefined && entry !== undefined) {
      if (this.#replay(entry, req, res, generation, deps)) return true
      entries.splice(entries.indexOf(entry), 1)
      recordReplay(false)
    }
    ;(req as StampedRequest)[STAMP] = {
      generation,
      judged: false,
      key: null,
      until: Number.POSITIVE_INFINITY,
      body: UNREPLAYABLE,
    }
    return false
  }

  /** replay writes the entry's answer, unless it may differ now. */
  #replay(entry: Entry, req: IncomingMessage, res: ServerResponse, generation: number, deps: ReplayDeps): boolean {
    const started = performance.now()
    const now = Date.now()
    if (
      entry.generation !== generation ||
      now >= entry.expiresAt ||
      this.#closing ||
      !deps.throttle.clean(entry.ip, now)
    ) {
      return false
    }
    const reqId = requestId()
    const logs = logsRequests(deps.log)
    if (logs) {
      // What the logger's `req` serializer (app.ts) reads of a Fastify request.
      const logged = {
        id: reqId,
        method: 'GET',
        url: req.url,
        routeOptions: { url: entry.route },
        headers: req.headers,
      }
      deps.log.info({ reqId, req: logged }, 'incoming request')
    }
    // The last slot is the request id: writeHead reads the list at once, so each answer fills it in turn.
    entry.headers[entry.headers.length - 1] = reqId
    res.writeHead(entry.status, entry.headers)
    res.end(entry.body)
    recordReplay(true)
    const seconds = (performance.now() - started) / 1000
    entry.record(seconds)
    if (logs) {
      deps.log.info({ reqId, res: { statusCode: entry.status }, responseTime: seconds * 1000 }, 'request completed')
    }
    return true
  }

  /** plugin remembers the answers of the routes that opt in; register it before them. */
  readonly plugin = fp(
    async (fastify: FastifyInstance) => {
      this.#closing = false
      this.#deps = { model: fastify.readModel, throttle: fastify.authThrottle, log: fastify.log }
      fastify.addHook('preClose', async () => {
        this.#closing = true
      })
      const mountPrefix = fastify.mountPrefix
      fastify.addHook('onRoute', (route: RouteOptions) => {
        if (route.config?.replay !== true) return
        const method = Array.isArray(route.method) ? route.method : [route.method]
        if (!method.includes('GET')) return
        route.onSend = [...hooks(route.onSend), captureBody]
        route.onResponse = [
          ...hooks(route.onResponse),
          (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
            this.#remember(request, reply, mountPrefix)
            done()
          },
        ]
      })
    },
    { name: 'pkgway-replay', dependencies: ['pkgway-services'] },
  )

  #remember(request: FastifyRequest, reply: FastifyReply, mountPrefix: string): void {
    const deps = this.#deps
    const raw = request.raw as StampedRequest
    const stamp = raw[STAMP]
    if (deps === null || stamp === undefined || !stamp.judged || stamp.body === UNREPLAYABLE) return
    if (!REPLAYABLE_STATUS.has(reply.statusCode)) return
    if (raw.headers['content-length'] !== undefined || raw.headers['transfer-encoding'] !== undefined) return
    const headers: Entry['headers'] = []
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (name === 'set-cookie' || name === 'connection') return
      if (name !== 'x-request-id' && value !== undefined) headers.push(name, value)
    }
    headers.push('x-request-id', '')
    const now = Date.now()
    let expiresAt = Math.min(stamp.until, now + REPLAY_MAX_AGE_MS)
    if (stamp.key !== null) expiresAt = Math.min(expiresAt, deps.model.judgementHoldsUntil(stamp.key, now))
    if (expiresAt <= now) return
    const socket = raw.socket as (typeof raw.socket & RememberingSocket) | null
    if (!socket) return
    const route = request.routeOptions.url ?? '(unmatched)'
    const entry: Entry = {
      ip: request.ip,
      url: raw.url ?? '',
      httpVersion: raw.httpVersion,
      rawHeaders: raw.rawHeaders,
      generation: stamp.generation,
      expiresAt,
      status: reply.statusCode,
      headers,
      body: stamp.body,
      route,
      record: requestRecorder({
        method: 'GET',
        route,
        engine: engineOf(request.routeOptions.url, mountPrefix),
        status: reply.statusCode,
      }),
    }
    socket[ENTRIES] ??= []
    const entries = socket[ENTRIES]
    const same = findEntry(entries, raw)
    if (same !== undefined) entries.splice(entries.indexOf(same), 1)
    entries.push(entry)
    if (entries.length > MAX_ENTRIES) entries.shift()
  }
}

/** captureBody keeps the payload of a stamped request, when it is bytes that can be written again. */
function captureBody(
  request: FastifyRequest,
  _reply: FastifyReply,
  payload: unknown,
  done: (err: null, p: unknown) => void,
) {
  const stamp = (request.raw as StampedRequest)[STAMP]
  if (stamp !== undefined) {
    const body = payload ?? ''
    stamp.body =
      (typeof body === 'string' || Buffer.isBuffer(body)) && Buffer.byteLength(body) <= MAX_BODY_BYTES
        ? body
        : UNREPLAYABLE
  }
  done(null, payload)
}

function hooks<T>(existing: T | T[] | undefined): T[] {
  if (existing === undefined) return []
  return Array.isArray(existing) ? existing : [existing]
}

function findEntry(entries: Entry[], req: IncomingMessage): Entry | undefined {
  for (const entry of entries) if (sameRequest(entry, req)) return entry
  return undefined
}

/** sameRequest: the same request line (method aside: only GETs are remembered) and the same headers, in order. */
function sameRequest(entry: Entry, req: IncomingMessage): boolean {
  if (entry.url !== req.url || entry.httpVersion !== req.httpVersion) return false
  const a = entry.rawHeaders
  const b = req.rawHeaders
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
