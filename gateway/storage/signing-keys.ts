/**
 * SigningKeys are the secrets of gateway-signed URLs: the current one signs new URLs, and every accepted one
 * verifies (after a rotation, the previous key stays accepted until the URLs it signed have expired).
 */
export interface SigningKeys {
  /** Current returns the secret that signs new URLs. */
  current(): string
  /** Accepted returns every secret a URL may be signed with now, the current one first. */
  accepted(): readonly string[]
  /**
   * Reload looks for keys this instance has not seen yet (another instance rotated). It is called when a
   * signature matched none of the accepted keys, and resolves true when the keys changed.
   */
  reload(): Promise<boolean>
}

/** fixedKey is one configured secret that never rotates. */
export function fixedKey(secret: string): SigningKeys {
  const accepted = Object.freeze([secret])
  return { current: () => secret, accepted: () => accepted, reload: async () => false }
}

/** toSigningKeys accepts a configured secret or the keys themselves. */
export function toSigningKeys(signing: string | SigningKeys): SigningKeys {
  return typeof signing === 'string' ? fixedKey(signing) : signing
}
