import type { Readable } from 'node:stream'
import { Agent, type Dispatcher, interceptors, request } from 'undici'
import type { PkgwayConfig } from '../../../config/schema.ts'
import { GatewayError } from '../../errors.ts'

/**
 * Pass-through of names that are not a PyPI package of the account. `redirect` (default) answers 307 to the
 * public index, as Keygen does, so `--index-url` users still resolve public dependencies; `proxy` fetches the
 * upstream page and serves its bytes unchanged (for clients that reach pkgway but not the public index);
 * `off` answers 404. A name that IS a package of the account never gets here, whatever its spelling
 * (see normalize.ts), which is what closes the dependency-confusion hole.
 * see: ../shared/spec/engines.md §2.2 item 2
 */

export type PassthroughConfig = PkgwayConfig['pypi']

/** Request headers forwarded to the upstream; never Authorization or cookies, which belong to pkgway. */
const FORWARD_REQUEST = ['accept', 'accept-encoding', 'if-none-match', 'if-modified-since', 'user-agent'] as const
/** Upstream response headers passed back to the client. */
const FORWARD_RESPONSE = [
  'content-type',
  'content-encoding',
  'content-length',
  'etag',
  'last-modified',
  'cache-control',
  'vary',
] as const

/** upstreamBase is the configured upstream with a trailing slash and without credentials (for clients). */
export function upstreamBase(upstream: string, keepCredentials = false): string {
  const url = new URL(upstream)
  if (!keepCredentials) {
    url.username = ''
    url.password = ''
  }
  url.search = ''
  url.hash = ''
  return url.toString().replace(/\/*$/, '/')
}

/** upstreamProjectUrl is where the public index serves a (normalized) project: `<upstream><name>/`. */
export function upstreamProjectUrl(upstream: string, normalized: string, keepCredentials = false): string {
  return `${upstreamBase(upstream, keepCredentials)}${encodeURIComponent(normalized)}/`
}

export interface UpstreamPage {
  status: number
  headers: Record<string, string>
  body: Readable
}

const badGateway = (reason: string, cause?: unknown) =>
  new GatewayError('UPSTREAM_FAILED', `the upstream index ${reason}`, 502, { cause })

/**
 * Upstream fetches one project page at a time through a dedicated undici agent whose connect, headers and
 * body timeouts all come from `pypi.upstreamTimeoutMs`, so a stalled upstream is a 502, never a hung client.
 */
export class Upstream {
  readonly #agent: Agent
  readonly #dispatcher: Dispatcher
  readonly #config: PassthroughConfig

  constructor(config: PassthroughConfig) {
    const ms = config.upstreamTimeoutMs
    this.#config = config
    this.#agent = new Agent({ connect: { timeout: ms }, headersTimeout: ms, bodyTimeout: ms })
    this.#dispatcher = this.#agent.compose(interceptors.redirect({ maxRedirections: 3 }))
  }

  /** Fetch GETs the upstream page of a project; 2xx and 304 come back, 404/410 are a 404, the rest a 502. */
  async fetch(normalized: string, incoming: Record<string, string | string[] | undefined>): Promise<UpstreamPage> {
    const url = new URL(upstreamProjectUrl(this.#config.upstream, normalized, true))
    const headers: Record<string, string> = {}
    for (const name of FORWARD_REQUEST) {
      const value = incoming[name]
      if (typeof value === 'string') headers[name] = value
    }
    if (url.username || url.password) {
      const user = decodeURIComponent(url.username)
      const pass = decodeURIComponent(url.password)
      headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`
      url.username = ''
      url.password = ''
    }
    let res: Dispatcher.ResponseData
    try {
      res = await request(url, { method: 'GET', headers, dispatcher: this.#dispatcher })
    } catch (err) {
      const code = (err as { code?: string }).code
      const timedOut = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT'
      throw badGateway(timedOut ? 'did not answer in time' : 'could not be reached', err)
    }
    if (res.statusCode === 404 || res.statusCode === 410) {
      res.body.resume()
      throw new GatewayError('NOT_FOUND', 'not found on the upstream index', 404)
    }
    if (res.statusCode !== 304 && (res.statusCode < 200 || res.statusCode > 299)) {
      res.body.resume()
      throw badGateway(`answered ${res.statusCode}`)
    }
    const out: Record<string, string> = {}
    for (const name of FORWARD_RESPONSE) {
      const value = res.headers[name]
      if (typeof value === 'string') out[name] = value
    }
    return { status: res.statusCode, headers: out, body: res.body }
  }

  close(): Promise<void> {
    return this.#agent.close()
  }
}
