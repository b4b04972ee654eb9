import { Documents } from './documents.ts'
import { Random } from './random.ts'
import { GARBAGE, METHODS, QUERY_KEYS, QUERY_VALUES, SCOPED, UNSCOPED, VERBS } from './vocabulary.ts'

/**
 * The request generator of the fuzzer: random methods, paths (from the gateway's route templates, filled with real
 * ids, aliases and garbage), query strings, headers, credentials and bodies. Deterministic for a seed.
 */

export type Pool =
  | 'account'
  | 'product'
  | 'package'
  | 'policy'
  | 'release'
  | 'artifact'
  | 'filename'
  | 'entitlement'
  | 'license'
  | 'user'
  | 'token'
  | 'project'

/** What the fuzzer knows of the catalog: ids seen so far, credentials, and upload URLs handed out. */
export interface Knowledge {
  ids: Record<Pool, string[]>
  /** Credentials that resolve (admin, product, license key, license token...). */
  credentials: Array<{ kind: 'bearer' | 'license'; value: string }>
  uploads: string[]
  /** Download URLs (303 Locations) handed out. */
  downloads: string[]
  /** Ids never deleted, so the fuzzer keeps a catalog to reach into (it may change them otherwise). */
  keep: Set<string>
}

export interface FuzzRequest {
  method: string
  path: string
  headers: Record<string, string>
  body?: string | Buffer
}

/** Generator makes one request after another from a seed and what the fuzzer has learnt so far. */
export class Generator {
  private readonly r: Random
  readonly #documents: Documents

  constructor(
    seed: number,
    readonly know: Knowledge,
  ) {
    this.r = new Random(seed)
    this.#documents = new Documents(this.r, know, (pool) => this.#id(pool))
  }

  /** id fills a placeholder: mostly something real, sometimes a random id or garbage. */
  #id(pool: Pool | 'any' | 'engine' | 'action'): string {
    if (pool === 'engine') return this.r.pick(['pypi', 'raw', 'npm', 'rubygems', 'oci', 'tauri', 'nope', '%00'])
    if (pool === 'action') {
      return this.r.pick(['publish', 'yank', 'suspend', 'reinstate', 'ban', 'unban', 'delete', 'x'])
    }
    const known = pool === 'any' ? [] : this.know.ids[pool]
    const roll = this.r.next()
    if (roll < 0.6 && known.length > 0) return encodeURIComponent(this.r.pick(known))
    if (roll < 0.75) return this.r.uuid()
    return this.r.pick(GARBAGE)
  }

  /** route picks a method and a path: mostly a method the route answers, sometimes any. */
  #route(): { method: string; path: string } {
    if (this.r.chance(0.08)) return { method: this.r.pick(METHODS), path: this.#fill(this.r.pick(UNSCOPED)) }
    const [template, verbs] = this.r.pick(SCOPED)
    const method = this.r.chance(0.85) ? this.r.pick(VERBS[this.r.pick([...verbs])]) : this.r.pick(METHODS)
    const scope = this.r.chance(0.25) ? `/v1/accounts/${this.#id('account')}` : '/v1'
    let path = scope + this.#fill(template)
    if (this.r.chance(0.05)) path = path.replace('/v1', '//v1')
    if (this.r.chance(0.05)) path += '/'
    if (this.r.chance(0.03)) path += `/${this.r.pick(GARBAGE)}`
    return { method, path }
  }

  #fill(template: string): string {
    return template.replace(/\{(\w+)\}/g, (_m, name: string) => this.#id(name as Pool))
  }

  #query(): string {
    if (this.r.chance(0.5)) return ''
    const n = 1 + this.r.int(4)
    const parts: string[] = []
    for (let i = 0; i < n; i++) {
      const key = encodeURIComponent(this.r.pick(QUERY_KEYS)).replace(/%5B/g, '[').replace(/%5D/g, ']')
      const value = this.r.chance(0.3) ? encodeURIComponent(this.#credentialValue()) : this.r.pick(QUERY_VALUES)
      parts.push(this.r.chance(0.05) ? key : `${key}=${value}`)
    }
    return `?${parts.join('&')}`
  }

  /** A credential as sent in the query or a header value: valid, wrong, or malformed. */
  #credentialValue(): string {
    const real = this.know.credentials
    const roll = this.r.next()
    if (roll < 0.4 && real.length > 0) {
      const c = this.r.pick(real)
      return c.kind === 'license' ? `license:${c.value}` : c.value
    }
    if (roll < 0.6) return `license:${this.r.uuid().toUpperCase()}`
    if (roll < 0.75) return `${this.r.pick(['admin', 'prod', 'user', 'activ'])}-${'0'.repeat(64)}v3`
    if (roll < 0.85) return this.r.uuid()
    return this.r.pick(GARBAGE)
  }

  #authorization(): string | undefined {
    const roll = this.r.next()
    if (roll < 0.15) return undefined
    const real = this.know.credentials
    // The admin (first credential) reaches every route's logic; the others exercise the policy.
    if (roll < 0.6 && real.length > 0) return `Bearer ${real[0].value}`
    if (roll < 0.85 && real.length > 0) {
      const c = this.r.pick(real)
      if (c.kind === 'license') {
        return this.r.chance(0.5)
          ? `License ${c.value}`
          : `Basic ${Buffer.from(`license:${c.value}`).toString('base64')}`
      }
      return this.r.chance(0.8) ? `Bearer ${c.value}` : `Basic ${Buffer.from(`token:${c.value}`).toString('base64')}`
    }
    return this.r.pick([
      `Bearer ${this.#credentialValue()}`,
      `License ${this.#credentialValue()}`,
      `Basic ${Buffer.from(`${this.#credentialValue()}:${this.#credentialValue()}`).toString('base64')}`,
      'Basic !!!notbase64',
      'Basic Og==',
      'Bearer',
      'Bearer a b',
      'Token x',
      'Digest foo',
      `Bearer ${'A'.repeat(9000)}`,
      'License ',
    ])
  }

  /** download fetches a download URL handed out earlier, with conditional and range headers. */
  #download(): FuzzRequest {
    const url = new URL(this.r.pick(this.know.downloads), 'http://gateway')
    const headers: Record<string, string> = {}
    if (this.r.chance(0.5)) headers.range = this.r.pick(['bytes=0-0', 'bytes=-1', 'bytes=5-', 'bytes=9-1', 'bytes=x-'])
    if (this.r.chance(0.2)) headers['if-none-match'] = this.r.pick(['"x"', '*'])
    if (this.r.chance(0.2)) headers['if-range'] = '"x"'
    const search = this.r.chance(0.9) ? url.search : url.search.replace(/sig=[^&]*/, 'sig=AAAA')
    return { method: this.r.pick(['GET', 'HEAD', 'PUT', 'DELETE']), path: url.pathname + search, headers }
  }

  /** next makes one request; now and then a PUT to an upload URL the API handed out. */
  next(): FuzzRequest {
    if (this.know.uploads.length > 0 && this.r.chance(0.03)) {
      const url = new URL(this.r.pick(this.know.uploads))
      const size = this.r.pick([0, 1, 10, 1000, 70_000])
      return {
        method: 'PUT',
        path: url.pathname + (this.r.chance(0.9) ? url.search : this.#query()),
        headers: { 'content-type': 'application/octet-stream' },
        body: Buffer.alloc(size, this.r.int(256)),
      }
    }
    if (this.know.downloads.length > 0 && this.r.chance(0.03)) return this.#download()
    const route = this.#route()
    const path = route.path
    const method =
      route.method === 'DELETE' && [...this.know.keep].some((id) => path.includes(id)) ? 'GET' : route.method
    const headers: Record<string, string> = {}
    const authorization = this.#authorization()
    if (authorization !== undefined) headers.authorization = authorization
    if (this.r.chance(0.7)) {
      headers.accept = this.r.pick([
        'application/vnd.api+json',
        'application/json',
        'text/html',
        'application/vnd.pypi.simple.v1+json',
        'application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01',
        '*/*',
        'image/png',
        '',
      ])
    }
    if (this.r.chance(0.05)) headers['keygen-environment'] = 'sandbox'
    if (this.r.chance(0.1)) headers.prefer = this.r.pick(['no-redirect', 'no-download', 'x'])
    if (this.r.chance(0.05)) headers['if-none-match'] = this.r.pick(['"x"', '*', 'W/"1"'])
    if (this.r.chance(0.05)) headers.range = this.r.pick(['bytes=0-0', 'bytes=-1', 'bytes=5-1', 'bytes=x'])
    if (this.r.chance(0.05)) headers['x-forwarded-for'] = this.r.pick(['203.0.113.1', 'garbage', ''])
    const request: FuzzRequest = { method, path: path + this.#query(), headers }
    if (method !== 'GET' && method !== 'HEAD' && this.r.chance(0.85)) {
      const { body, type } = this.#documents.body(method, request.path)
      if (type) headers['content-type'] = type
      if (body !== undefined) request.body = body
    }
    return request
  }
}
