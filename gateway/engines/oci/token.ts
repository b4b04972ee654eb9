import type { SigningKeys } from '../../storage/signing-keys.ts'
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'
import type { Credentials } from '../../auth/credentials.ts'

/**
 * Registry bearer tokens, as `GET|POST /v2/token` issues them: short-lived, bound to one account and a set of
 * repositories (pull only), and sealed with AES-256-GCM under a key derived from the gateway's signing secret, so
 * they cannot be forged or read. A token carries the credential it was issued for (a license key, an API token,
 * or none for anonymous pulls): every request resolves it again through the read model's credential cache, so a
 * suspended license or a revoked token stops working at once, not when the token expires.
 * see: https://distribution.github.io/distribution/spec/auth/token/ · ../shared/spec/clients.md §4, §7
 */

/** Registry tokens start with this, which no Keygen token does. */
export const TOKEN_PREFIX = 'pkgway.oci.'

/** Lifetime of a registry token, in seconds. */
export const TOKEN_TTL_SECONDS = 300

/** The credential a token was issued for: a license key, an API token, Basic `<token>:<ignored>`, or nobody. */
export type SealedCredential = ['L', string] | ['T', string] | ['B', string, string] | null

export interface RegistryClaims {
  accountId: string
  credential: SealedCredential
  /** Repository names the token grants `pull` on. */
  repositories: string[]
  /** Epoch seconds. */
  issuedAt: number
  expiresAt: number
}

export type TokenCheck = { ok: true; claims: RegistryClaims } | { ok: false; reason: 'invalid' | 'expired' }

/** RegistryTokens issues and opens registry tokens. */
export class RegistryTokens {
  readonly #keys: SigningKeys
  /** Token keys derived from each signing secret seen (a handful: rotations are rare). */
  readonly #derived = new Map<string, Buffer>()

  constructor(keys: SigningKeys) {
    this.#keys = keys
  }

  #key(secret: string): Buffer {
    let key = this.#derived.get(secret)
    if (!key) {
      key = Buffer.from(hkdfSync('sha256', secret, 'pkgway', 'oci-registry-token', 32))
      this.#derived.set(secret, key)
    }
    return key
  }

  /** issue seals claims into a token. */
  issue(claims: RegistryClaims): string {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.#key(this.#keys.current()), iv)
    const body = Buffer.concat([cipher.update(JSON.stringify(claims), 'utf8'), cipher.final()])
    return TOKEN_PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')
  }

  /** open checks a token and returns its claims, or why it is refused. */
  open(token: string, now: number = Date.now()): TokenCheck {
    if (!token.startsWith(TOKEN_PREFIX)) return { ok: false, reason: 'invalid' }
    const raw = Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url')
    if (raw.length < 12 + 16 + 2) return { ok: false, reason: 'invalid' }
    // Tokens sealed before a key rotation stay valid: every accepted key is tried, the current one first.
    let claims: RegistryClaims | undefined
    for (const secret of this.#keys.accepted()) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', this.#key(secret), raw.subarray(0, 12))
        decipher.setAuthTag(raw.subarray(raw.length - 16))
        const text = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()])
        claims = JSON.parse(text.toString('utf8')) as RegistryClaims
        break
      } catch {
        // Not sealed with this key.
      }
    }
    if (!claims) return { ok: false, reason: 'invalid' }
    if (claims.expiresAt * 1000 <= now) return { ok: false, reason: 'expired' }
    return { ok: true, claims }
  }
}

/** sealCredential picks what a token keeps of the credentials it was issued for. */
export function sealCredential(c: Credentials): SealedCredential {
  switch (c.kind) {
    case 'license-key':
      return ['L', c.key]
    case 'token':
      return ['T', c.token]
    case 'basic-password':
      return ['B', c.username, c.password]
    default:
      return null
  }
}

/** unsealCredential turns a token's credential back into credentials to resolve (as if sent with Basic). */
export function unsealCredential(s: SealedCredential): Credentials {
  if (s === null) return { kind: 'none' }
  switch (s[0]) {
    case 'L':
      return { kind: 'license-key', key: s[1], scheme: 'Basic', source: 'header' }
    case 'T':
      return { kind: 'token', token: s[1], scheme: 'Basic', source: 'header' }
    case 'B':
      return { kind: 'basic-password', username: s[1], password: s[2], scheme: 'Basic', source: 'header' }
  }
}
