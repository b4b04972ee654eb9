import { LRUCache } from 'lru-cache'
import { GatewayError } from '../errors.ts'
import type { Credentials } from './credentials.ts'
import type { Principal } from './principal.ts'

/**
 * Credential guessing is throttled (config `authThrottle`): failed authentications (401s) are counted per client
 * address (`request.ip`, which honours trustProxy) and per credential prefix, in fixed windows. Past the budget:
 * - an address gets 429 with Retry-After for every credential it sends, without the credential being looked up;
 * - a credential prefix gets 429 only from addresses that have failed in the window themselves, so a distributed
 *   guess of one key space is slowed while valid credentials from other addresses never are.
 * The 429 is a GatewayError, rendered by each scope's error handler in its own format. Counters live in this
 * process only (bounded LRU): N gateway instances allow N budgets.
 */

export interface ThrottleOptions {
  maxFailures: number
  windowSeconds: number
  /** Counters kept at most (addresses and prefixes together); the least recently used go first. */
  maxEntries?: number
}

interface Window {
  failures: number
  /** Epoch ms at which the window ends. */
  resetAt: number
}

/** Characters of a credential that make its prefix: enough to group a structured key space, far too few to use. */
const PREFIX_LENGTH = 8

/** credentialPrefix names the key space a credential belongs to, e.g. `license:ACME-123` or `token:prod-3f2a`. */
export function credentialPrefix(credentials: Credentials): string | null {
  switch (credentials.kind) {
    case 'license-key':
      return `license:${credentials.key.slice(0, PREFIX_LENGTH)}`
    case 'token':
      return `token:${credentials.token.slice(0, PREFIX_LENGTH)}`
    case 'basic-password':
      return `token:${credentials.username.slice(0, PREFIX_LENGTH)}`
    default:
      return null
  }
}

export class AuthThrottle {
  readonly #windows: LRUCache<string, Window>
  readonly #max: number
  readonly #windowMs: number
  /** Epoch ms after which no window holds a failure: until then a request has counters to look up. */
  #quietAfter = 0

  constructor(opts: ThrottleOptions) {
    this.#max = opts.maxFailures
    this.#windowMs = opts.windowSeconds * 1000
    this.#windows = new LRUCache<string, Window>({ max: opts.maxEntries ?? 100_000 })
  }

  /**
   * clean says whether `address` has no failure in the current window at `now`: none of its credentials would be
   * throttled then (a prefix over its budget only slows addresses that failed themselves).
   */
  clean(address: string, now: number): boolean {
    return now >= this.#quietAfter || this.#current(`addr:${address}`, now) === undefined
  }

  /**
   * guard resolves credentials from address through resolve, unless the address or the credential's prefix is over
   * its budget (429), and counts a 401 from resolve as a failure of both. A principal resolve finds synchronously
   * is returned synchronously.
   */
  guard(
    address: string,
    credentials: Credentials,
    resolve: () => Principal | Promise<Principal>,
  ): Principal | Promise<Principal> {
    if (credentials.kind === 'none') return resolve()
    const prefix = credentialPrefix(credentials)
    const now = Date.now()
    // No failure in a whole window: nothing can be over its budget, so nothing is looked up.
    if (now >= this.#quietAfter) return this.#resolve(address, prefix, now, resolve)
    const own = this.#current(`addr:${address}`, now)
    const blocked =
      own && own.failures >= this.#max
        ? own
        : own && prefix
          ? this.#over(this.#current(`cred:${prefix}`, now))
          : undefined
    if (blocked) throw tooManyFailures(Math.max(1, Math.ceil((blocked.resetAt - now) / 1000)))
    return this.#resolve(address, prefix, now, resolve)
  }

  /** resolve runs the resolution and counts a 401 from it against the address and the prefix. */
  #resolve(
    address: string,
    prefix: string | null,
    now: number,
    resolve: () => Principal | Promise<Principal>,
  ): Principal | Promise<Principal> {
    let principal: Principal | Promise<Principal>
    try {
      principal = resolve()
    } catch (err) {
      return this.#failed(err, address, prefix, now)
    }
    if (!(principal instanceof Promise)) return principal
    return principal.catch((err) => this.#failed(err, address, prefix, now))
  }

  #failed(err: unknown, address: string, prefix: string | null, now: number): never {
    if ((err as { statusCode?: number }).statusCode === 401) {
      this.#count(`addr:${address}`, now)
      if (prefix) this.#count(`cred:${prefix}`, now)
    }
    throw err
  }

  #current(key: string, now: number): Window | undefined {
    const w = this.#windows.get(key)
    return w && w.resetAt > now ? w : undefined
  }

  #over(w: Window | undefined): Window | undefined {
    return w && w.failures >= this.#max ? w : undefined
  }

  #count(key: string, now: number): void {
    const w = this.#current(key, now) ?? { failures: 0, resetAt: now + this.#windowMs }
    this.#quietAfter = Math.max(this.#quietAfter, w.resetAt)
    w.failures++
    this.#windows.set(key, w)
  }
}

function tooManyFailures(retryAfter: number): GatewayError {
  return new GatewayError(
    'TOO_MANY_REQUESTS',
    `Too many failed authentication attempts; retry in ${retryAfter} seconds`,
    429,
    { headers: { 'Retry-After': String(retryAfter) } },
  )
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Counts failed authentications and answers 429 past the budget (see gateway/auth/throttle.ts). */
    authThrottle: AuthThrottle
  }
}
