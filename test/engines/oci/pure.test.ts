import { fixedKey } from '../../../gateway/storage/signing-keys.ts'
import { describe, expect, it } from 'vitest'
import { parseRegistryPath } from '../../../gateway/engines/oci/path.ts'
import { RegistryTokens, sealCredential, TOKEN_PREFIX, unsealCredential } from '../../../gateway/engines/oci/token.ts'
import { scopesOf } from '../../../gateway/engines/oci/token-route.ts'

describe('registry paths', () => {
  it.each([
    ['app/manifests/latest', { kind: 'manifests', name: 'app', arg: 'latest' }],
    ['acme/app/blobs/sha256:x', { kind: 'blobs', name: 'acme/app', arg: 'sha256:x' }],
    ['a/b/c/tags/list', { kind: 'tags', name: 'a/b/c' }],
    ['app/referrers/sha256:x', { kind: 'referrers', name: 'app', arg: 'sha256:x' }],
    ['app/blobs/uploads/', null],
    ['app/blobs/uploads/1234', null],
    ['_catalog', null],
    ['manifests/latest', null],
    ['app//manifests/latest', null],
  ])('%s', (path, expected) => {
    expect(parseRegistryPath(path)).toEqual(expected)
  })
})

describe('registry tokens', () => {
  const SECRET = 'a-signing-secret-of-at-least-32-characters'
  const tokens = new RegistryTokens(fixedKey(SECRET))
  const claims = {
    accountId: 'acct',
    credential: sealCredential({ kind: 'license-key', key: 'KEY', scheme: 'Basic', source: 'header' }),
    repositories: ['app'],
    issuedAt: 1000,
    expiresAt: 1300,
  }

  it('seal their claims, opaque to the holder, until they expire', () => {
    const token = tokens.issue(claims)
    expect(token.startsWith(TOKEN_PREFIX)).toBe(true)
    expect(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString('latin1')).not.toContain('KEY')
    expect(tokens.open(token, 1299_000)).toEqual({ ok: true, claims })
    expect(tokens.open(token, 1300_000)).toEqual({ ok: false, reason: 'expired' })
    expect(unsealCredential(claims.credential)).toEqual({
      kind: 'license-key',
      key: 'KEY',
      scheme: 'Basic',
      source: 'header',
    })
  })

  it('stay valid after a key rotation until they expire', () => {
    const token = tokens.issue(claims)
    const next = 'the-next-signing-secret-of-32-characters!'
    const rotated = new RegistryTokens({
      current: () => next,
      accepted: () => [next, SECRET],
      reload: async () => false,
    })
    expect(rotated.open(token, 1000_000)).toEqual({ ok: true, claims })
    expect(tokens.open(rotated.issue(claims), 1000_000)).toEqual({ ok: false, reason: 'invalid' })
  })

  it('refuse tokens of another secret, tampered ones and anything else', () => {
    const token = tokens.issue(claims)
    const other = new RegistryTokens(fixedKey('another-signing-secret-of-32-characters!'))
    expect(other.open(token, 1000_000)).toEqual({ ok: false, reason: 'invalid' })
    const raw = Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url')
    raw[20] ^= 1
    expect(tokens.open(TOKEN_PREFIX + raw.toString('base64url'), 1000_000)).toEqual({ ok: false, reason: 'invalid' })
    for (const bad of ['', TOKEN_PREFIX, 'admin-abcv3', `${TOKEN_PREFIX}!!!`]) {
      expect(tokens.open(bad, 1000_000)).toEqual({ ok: false, reason: 'invalid' })
    }
  })
})

describe('token scopes', () => {
  it('grants pull on named repositories only', () => {
    expect(scopesOf('repository:app:pull')).toEqual(['app'])
    expect(scopesOf(['repository:acme/app:pull,push', 'repository:x:push', 'registry:catalog:*'])).toEqual(['acme/app'])
    expect(scopesOf('repository:a:pull repository:b:* repository:a:pull repository:Bad:pull')).toEqual(['a', 'b'])
    expect(scopesOf(undefined)).toEqual([])
  })
})
