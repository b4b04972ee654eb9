import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Credentials } from '../../gateway/auth/credentials.ts'
import { ANONYMOUS, type Principal } from '../../gateway/auth/principal.ts'
import { unauthorized } from '../../gateway/auth/resolve.ts'
import { AuthThrottle, credentialPrefix } from '../../gateway/auth/throttle.ts'
import { GatewayError } from '../../gateway/errors.ts'

const license = (key: string): Credentials => ({ kind: 'license-key', key, scheme: 'License', source: 'header' })
const wrong = async (): Promise<Principal> => {
  throw unauthorized('LICENSE_INVALID', 'You must be authenticated to complete the request', 'License realm="x"')
}
const right = async (): Promise<Principal> => ANONYMOUS

/** attempt runs one authentication and returns the status it ends in (200 for a principal). */
async function attempt(
  t: AuthThrottle,
  address: string,
  key: string,
  resolve: () => Principal | Promise<Principal> = wrong,
): Promise<number> {
  try {
    await t.guard(address, license(key), resolve)
    return 200
  } catch (err) {
    return (err as GatewayError).statusCode
  }
}

describe('AuthThrottle', () => {
  it('answers a principal found synchronously synchronously, and counts a synchronous 401 like an awaited one', async () => {
    const t = new AuthThrottle({ maxFailures: 2, windowSeconds: 60 })
    expect(t.guard('10.0.0.9', license('cached-and-valid'), () => ANONYMOUS)).toBe(ANONYMOUS)
    const wrongNow = (): Principal => {
      throw unauthorized('LICENSE_INVALID', 'You must be authenticated to complete the request', 'License realm="x"')
    }
    expect(await attempt(t, '10.0.0.9', 'sync-guess-1', wrongNow)).toBe(401)
    expect(await attempt(t, '10.0.0.9', 'sync-guess-2', wrongNow)).toBe(401)
    expect(await attempt(t, '10.0.0.9', 'sync-guess-3', wrongNow)).toBe(429)
  })

  afterEach(() => {
    vi.useRealTimers()
  })

  it('answers 429 with Retry-After once an address has used its budget of failures, without resolving', async () => {
    const t = new AuthThrottle({ maxFailures: 3, windowSeconds: 60 })
    for (let i = 0; i < 3; i++) expect(await attempt(t, '10.0.0.1', `guess-${i}-${'x'.repeat(16)}`)).toBe(401)
    const resolve = vi.fn(right)
    const err = await (async () => t.guard('10.0.0.1', license('valid-but-from-the-attacker'), resolve))().catch(
      (e) => e,
    )
    expect(err).toBeInstanceOf(GatewayError)
    expect(err).toMatchObject({ statusCode: 429, code: 'TOO_MANY_REQUESTS' })
    expect(err.options.headers['Retry-After']).toMatch(/^(59|60)$/)
    expect(resolve).not.toHaveBeenCalled()
  })

  it('never slows a valid credential from another address, even in a key space under attack', async () => {
    const t = new AuthThrottle({ maxFailures: 3, windowSeconds: 60 })
    // Many addresses guess keys that share the valid key's prefix.
    for (let i = 0; i < 10; i++) await attempt(t, `10.0.1.${i}`, `SHARED-P-guess-${i}`)
    expect(await attempt(t, '10.0.2.1', 'SHARED-P-the-valid-key', right)).toBe(200)
    // An address that has failed itself is refused on that prefix at once.
    expect(await attempt(t, '10.0.1.0', 'SHARED-P-another-guess')).toBe(429)
    expect(await attempt(t, '10.0.1.0', 'OTHERPFX-another-guess')).toBe(401)
  })

  it('counts only 401s: denials of valid credentials and successes are not failures', async () => {
    const t = new AuthThrottle({ maxFailures: 2, windowSeconds: 60 })
    const suspended = async (): Promise<Principal> => {
      throw new GatewayError('LICENSE_SUSPENDED', 'License is suspended', 403)
    }
    for (let i = 0; i < 5; i++) expect(await attempt(t, '10.0.0.3', 'suspended-key-0000', suspended)).toBe(403)
    for (let i = 0; i < 5; i++) expect(await attempt(t, '10.0.0.3', 'valid-key-00000000', right)).toBe(200)
    expect(await t.guard('10.0.0.3', { kind: 'none' }, right)).toBe(ANONYMOUS)
  })

  it('opens again when the window has passed', async () => {
    vi.useFakeTimers()
    const t = new AuthThrottle({ maxFailures: 1, windowSeconds: 10 })
    expect(await attempt(t, '10.0.0.4', 'guess-aaaaaaaa')).toBe(401)
    expect(await attempt(t, '10.0.0.4', 'guess-bbbbbbbb')).toBe(429)
    vi.advanceTimersByTime(10_001)
    expect(await attempt(t, '10.0.0.4', 'guess-cccccccc')).toBe(401)
  })

  it('groups credentials by kind and their first 8 characters', () => {
    expect(credentialPrefix(license('ACME-1234-5678'))).toBe('license:ACME-123')
    expect(credentialPrefix({ kind: 'token', token: 'prod-0123abcd', scheme: 'Bearer', source: 'header' })).toBe(
      'token:prod-012',
    )
    expect(credentialPrefix({ kind: 'none' })).toBeNull()
  })
})
