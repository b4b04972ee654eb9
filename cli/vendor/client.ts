import type { Readable } from 'node:stream'
import { Agent, type Dispatcher, request } from 'undici'
import { ApiError, CliError, firstLine, type JsonApiError, networkMessage } from './errors.ts'
import type { Connection } from './settings.ts'
import manifest from '../../package.json' with { type: 'json' }

/**
 * A small client for the management API (JSON:API): bearer token, `/v1/…` or `/v1/accounts/<account>/…` paths,
 * redirects never followed (artifact creation answers 307 + Location), and every failure turned into one line.
 */

export const USER_AGENT = `pkgway-cli/${manifest.version} node/${process.version}`

/** A JSON:API resource object, as far as the CLI reads it. */
export interface Resource {
  id: string
  type: string
  attributes: Record<string, unknown>
  relationships?: Record<string, { data?: { type: string; id: string } | null }>
  links?: Record<string, string | null>
  meta?: Record<string, unknown>
}

export interface ApiResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  /** The parsed body; null when it was empty (204). */
  doc: { data?: Resource | Resource[] | null; errors?: JsonApiError[]; meta?: Record<string, unknown> } | null
}

export interface CallOptions {
  query?: Record<string, string | undefined>
  body?: unknown
  /** Sent as the `Prefer` header (`no-download` keeps artifact reads from redirecting to the bytes). */
  prefer?: string
}

let agent: Agent | undefined
function dispatcher(): Dispatcher {
  agent ??= new Agent({ connect: { timeout: 30_000 }, keepAliveTimeout: 10_000 })
  return agent
}

/** closeClients lets the process exit without waiting for idle keep-alive connections. */
export async function closeClients(): Promise<void> {
  const a = agent
  agent = undefined
  await a?.destroy().catch(() => {})
}

const header = (headers: ApiResponse['headers'], name: string): string | undefined => {
  const v = headers[name]
  return Array.isArray(v) ? v[0] : v
}

/** unreachable is the one-line error for a request that got no answer. */
function unreachable(method: string, url: string, err: unknown): CliError {
  const u = new URL(url)
  return new CliError(`cannot reach ${u.origin} (${method} ${u.pathname}): ${networkMessage(err)}`)
}

/** errorFromBody reads a failed answer: JSON:API errors, an S3 XML error, or a short description. */
function errorFromBody(status: number, contentType: string | undefined, text: string, what: string): CliError {
  if (/json/i.test(contentType ?? '') || /^\s*[{[]/.test(text)) {
    try {
      const doc = JSON.parse(text) as { errors?: JsonApiError[] }
      if (Array.isArray(doc?.errors) && doc.errors.length > 0) return new ApiError(status, doc.errors)
    } catch {
      // fall through: not JSON after all
    }
  }
  const xmlCode = /<Code>([^<]*)<\/Code>/.exec(text)?.[1]
  const xmlMessage = /<Message>([^<]*)<\/Message>/.exec(text)?.[1]
  if (xmlCode) return new CliError(`${what}: HTTP ${status}: ${xmlMessage ? `${xmlMessage} ` : ''}(${xmlCode})`)
  const type = contentType ? firstLine(contentType.split(';')[0]) : 'no content type'
  return new CliError(`${what}: HTTP ${status} with a non-JSON:API answer (${type})`)
}

export class ApiClient {
  constructor(readonly connection: Connection) {}

  /** url builds the absolute URL of an API path such as `/releases/1.0.0`. */
  url(path: string, query?: Record<string, string | undefined>): string {
    const { host, account } = this.connection
    const scope = account ? `/v1/accounts/${encodeURIComponent(account)}` : '/v1'
    const params = new URLSearchParams()
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, v)
    const qs = params.toString()
    return `${host}${scope}${path}${qs ? `?${qs}` : ''}`
  }

  /** call sends one API request and returns the parsed document; an error answer is thrown as ApiError. */
  async call(method: string, path: string, opts: CallOptions = {}): Promise<ApiResponse> {
    const url = this.url(path, opts.query)
    const headers: Record<string, string> = {
      accept: 'application/vnd.api+json',
      authorization: `Bearer ${this.connection.token}`,
      'user-agent': USER_AGENT,
    }
    if (opts.prefer) headers.prefer = opts.prefer
    let body: string | undefined
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body)
      headers['content-type'] = 'application/vnd.api+json'
    }
    let res: Dispatcher.ResponseData
    let text: string
    try {
      res = await request(url, { method: method as Dispatcher.HttpMethod, headers, body, dispatcher: dispatcher() })
      text = await res.body.text()
    } catch (err) {
      throw unreachable(method, url, err)
    }
    const responseHeaders = res.headers as ApiResponse['headers']
    const contentType = header(responseHeaders, 'content-type')
    const what = `${method} ${new URL(url).pathname}`
    if (res.statusCode >= 400) throw errorFromBody(res.statusCode, contentType, text, what)
    if (text.trim() === '') return { status: res.statusCode, headers: responseHeaders, doc: null }
    let doc: ApiResponse['doc']
    try {
      doc = JSON.parse(text)
    } catch {
      throw errorFromBody(res.statusCode, contentType, text, what)
    }
    if (doc === null || typeof doc !== 'object') throw errorFromBody(res.statusCode, contentType, text, what)
    return { status: res.statusCode, headers: responseHeaders, doc }
  }

  /** resource is call() for answers whose `data` is one resource. */
  async resource(method: string, path: string, opts: CallOptions = {}): Promise<Resource & { location?: string }> {
    const res = await this.call(method, path, opts)
    const data = res.doc?.data
    if (!data || Array.isArray(data) || typeof data.id !== 'string') {
      throw new CliError(`${method} ${path}: the server answered without a resource (HTTP ${res.status})`)
    }
    const location = header(res.headers, 'location')
    return location ? { ...data, location } : data
  }

  /** list is call() for answers whose `data` is an array. */
  async list(path: string, query?: Record<string, string | undefined>): Promise<Resource[]> {
    const res = await this.call('GET', path, { query })
    const data = res.doc?.data
    if (!Array.isArray(data)) throw new CliError(`GET ${path}: the server answered without a list`)
    return data
  }
}

/**
 * putUpload sends a file's bytes to an upload URL: no Authorization (the URL carries its own), Content-Length
 * set, the body streamed. Storage answers 2xx (S3 and the gateway answer 200).
 */
export async function putUpload(url: string, body: Readable, size: number, what: string): Promise<void> {
  let res: Dispatcher.ResponseData
  let text: string
  try {
    res = await request(url, {
      method: 'PUT',
      headers: { 'content-length': String(size), 'content-type': 'application/octet-stream', 'user-agent': USER_AGENT },
      body,
      dispatcher: dispatcher(),
      // A slow upload of a large file is not a hang: only the answer after the last byte is timed.
      headersTimeout: 600_000,
    })
    text = await res.body.text()
  } catch (err) {
    body.destroy()
    throw unreachable('PUT', url, err)
  }
  if (res.statusCode < 200 || res.statusCode > 299) {
    throw errorFromBody(res.statusCode, header(res.headers as ApiResponse['headers'], 'content-type'), text, what)
  }
}
