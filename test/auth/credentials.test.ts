import { describe, expect, it } from 'vitest'
import {
  type CredentialInput,
  type Credentials,
  challengeHeader,
  challengeScheme,
  MAX_AUTHORIZATION_LENGTH,
  parseCredentials,
} from '../../gateway/auth/credentials.ts'

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64')
const TOKEN = `prod-${'ab'.repeat(32)}v3`
const KEY = 'C1B6DE-39A6E3-DE1529-8559A0-4AF593-V3'

interface Row {
  name: string
  input: CredentialInput
  expected: Credentials
}

const header = (authorization: unknown): CredentialInput => ({ authorization })
const query = (q: Record<string, unknown>): CredentialInput => ({ query: q })

const rows: Row[] = [
  // Bearer / Token
  {
    name: 'reads a Bearer token',
    input: header(`Bearer ${TOKEN}`),
    expected: { kind: 'token', token: TOKEN, scheme: 'Bearer', source: 'header' },
  },
  {
    name: 'reads the Token scheme as a Bearer token',
    input: header(`Token ${TOKEN}`),
    expected: { kind: 'token', token: TOKEN, scheme: 'Bearer', source: 'header' },
  },
  {
    name: 'matches the scheme case-insensitively and trims surrounding whitespace',
    input: header(`  bEaReR   ${TOKEN}  `),
    expected: { kind: 'token', token: TOKEN, scheme: 'Bearer', source: 'header' },
  },
  {
    name: 'keeps a license key sent as Bearer a token (it will fail the token lookup)',
    input: header(`Bearer ${KEY}`),
    expected: { kind: 'token', token: KEY, scheme: 'Bearer', source: 'header' },
  },
  // Basic
  {
    name: 'reads Basic license:<key> as a license key',
    input: header(`Basic ${b64(`license:${KEY}`)}`),
    expected: { kind: 'license-key', key: KEY, scheme: 'Basic', source: 'header' },
  },
  {
    name: 'reads Basic token:<token> as a token',
    input: header(`Basic ${b64(`token:${TOKEN}`)}`),
    expected: { kind: 'token', token: TOKEN, scheme: 'Basic', source: 'header' },
  },
  {
    name: 'reads Basic <token>: as a username-only credential (the username is the token)',
    input: header(`Basic ${b64(`${TOKEN}:`)}`),
    expected: { kind: 'basic-password', username: TOKEN, password: '', scheme: 'Basic', source: 'header' },
  },
  {
    name: 'keeps email:password of Basic for the login route',
    input: header(`basic ${b64('jane@example.com:s3cr:et')}`),
    expected: {
      kind: 'basic-password',
      username: 'jane@example.com',
      password: 's3cr:et',
      scheme: 'Basic',
      source: 'header',
    },
  },
  {
    name: 'reads Basic without a colon as a username with an empty password',
    input: header(`Basic ${b64(TOKEN)}`),
    expected: { kind: 'basic-password', username: TOKEN, password: '', scheme: 'Basic', source: 'header' },
  },
  {
    name: 'keeps colons inside a Basic license key',
    input: header(`Basic ${b64('license:a:b:c')}`),
    expected: { kind: 'license-key', key: 'a:b:c', scheme: 'Basic', source: 'header' },
  },
  {
    name: 'accepts unpadded base64 in Basic',
    input: header(`Basic ${b64('license:ABCDEFG').replace(/=+$/, '')}`),
    expected: { kind: 'license-key', key: 'ABCDEFG', scheme: 'Basic', source: 'header' },
  },
  // License
  {
    name: 'reads License <key> as a license key',
    input: header(`License ${KEY}`),
    expected: { kind: 'license-key', key: KEY, scheme: 'License', source: 'header' },
  },
  // Query
  {
    name: 'reads ?auth=license:<key> as a license key',
    input: query({ auth: `license:${KEY}` }),
    expected: { kind: 'license-key', key: KEY, scheme: null, source: 'query' },
  },
  {
    name: 'reads ?token=token:<token> as a token',
    input: query({ token: `token:${TOKEN}` }),
    expected: { kind: 'token', token: TOKEN, scheme: null, source: 'query' },
  },
  {
    name: 'reads a bare ?token= as a token',
    input: query({ token: TOKEN }),
    expected: { kind: 'token', token: TOKEN, scheme: null, source: 'query' },
  },
  {
    name: 'reads a bare ?auth= as a token',
    input: query({ auth: TOKEN }),
    expected: { kind: 'token', token: TOKEN, scheme: null, source: 'query' },
  },
  {
    name: 'takes the part before the first colon of any other ?auth= value as the token (Keygen compatibility)',
    input: query({ auth: `${TOKEN}:ignored` }),
    expected: { kind: 'token', token: TOKEN, scheme: null, source: 'query' },
  },
  {
    name: 'prefers ?token= over ?auth=',
    input: query({ token: TOKEN, auth: `license:${KEY}` }),
    expected: { kind: 'token', token: TOKEN, scheme: null, source: 'query' },
  },
  {
    name: 'ignores the query when an Authorization header is sent',
    input: { authorization: `License ${KEY}`, query: { token: TOKEN } },
    expected: { kind: 'license-key', key: KEY, scheme: 'License', source: 'header' },
  },
  {
    name: 'reads the query when the Authorization header is blank',
    input: { authorization: '   ', query: { token: TOKEN } },
    expected: { kind: 'token', token: TOKEN, scheme: null, source: 'query' },
  },
  // None
  { name: 'finds nothing without header or query', input: {}, expected: { kind: 'none' } },
  { name: 'finds nothing in an unrelated query', input: query({ page: '1' }), expected: { kind: 'none' } },
  {
    name: 'treats an unknown scheme as no credentials and ignores the query',
    input: { authorization: `Digest username="x"`, query: { token: TOKEN } },
    expected: { kind: 'none' },
  },
  { name: 'treats a non-object query as no credentials', input: { query: 'token=x' }, expected: { kind: 'none' } },
]

const malformedRows: Array<{ name: string; input: CredentialInput; expected: 'token' | 'license-key' }> = [
  { name: 'an empty Bearer token', input: header('Bearer'), expected: 'token' },
  { name: 'a Bearer token made of spaces', input: header('Bearer    '), expected: 'token' },
  { name: 'a Bearer token with inner whitespace', input: header('Bearer abc def'), expected: 'token' },
  { name: 'empty Basic credentials', input: header('Basic'), expected: 'token' },
  { name: 'Basic credentials that are not base64', input: header('Basic not*base64!'), expected: 'token' },
  { name: 'Basic credentials with an impossible base64 length', input: header('Basic abcde'), expected: 'token' },
  {
    name: 'Basic credentials that decode to invalid UTF-8',
    input: header(`Basic ${Buffer.from([0xff, 0xfe, 0x3a, 0x41]).toString('base64')}`),
    expected: 'token',
  },
  { name: 'Basic with only a colon', input: header(`Basic ${b64(':')}`), expected: 'token' },
  { name: 'Basic with an empty username', input: header(`Basic ${b64(':password')}`), expected: 'token' },
  { name: 'Basic license: with no key', input: header(`Basic ${b64('license:')}`), expected: 'license-key' },
  { name: 'Basic token: with no token', input: header(`Basic ${b64('token:')}`), expected: 'token' },
  { name: 'an empty License key', input: header('License '), expected: 'license-key' },
  {
    name: 'an oversized Authorization header',
    input: header(`Bearer ${'a'.repeat(MAX_AUTHORIZATION_LENGTH)}`),
    expected: 'token',
  },
  { name: 'a repeated Authorization header', input: header(['Bearer a', 'Bearer b']), expected: 'token' },
  { name: 'a repeated ?token= parameter', input: query({ token: ['a', 'b'] }), expected: 'token' },
  { name: 'an object-valued ?auth= parameter', input: query({ auth: { license: 'x' } }), expected: 'token' },
  { name: 'an empty ?token= parameter', input: query({ token: '' }), expected: 'token' },
  { name: 'an empty ?auth= after license:', input: query({ auth: 'license:' }), expected: 'license-key' },
  { name: 'an empty ?auth= after token:', input: query({ auth: 'token:' }), expected: 'token' },
  { name: 'a ?auth= value starting with a colon', input: query({ auth: ':abc' }), expected: 'token' },
  { name: 'an oversized ?token= parameter', input: query({ token: 'a'.repeat(5000) }), expected: 'token' },
]

describe('parseCredentials', () => {
  for (const row of rows) {
    it(row.name, async () => {
      expect(parseCredentials(row.input)).toEqual(row.expected)
    })
  }

  for (const row of malformedRows) {
    it(`reports ${row.name} as malformed ${row.expected} credentials`, async () => {
      const result = parseCredentials(row.input)
      expect(result.kind).toBe('malformed')
      if (result.kind !== 'malformed') return
      expect(result.expected).toBe(row.expected)
      expect(result.reason).toMatch(/\S/)
    })
  }

  it('never throws on hostile input', async () => {
    const hostile: unknown[] = [
      42,
      {},
      null,
      'Basic ====',
      'Basic =',
      `Basic ${'A'.repeat(MAX_AUTHORIZATION_LENGTH + 10)}`,
      '\u0000\u0001',
      'Bearer \u0000',
    ]
    for (const authorization of hostile) {
      expect(() => parseCredentials({ authorization, query: { token: [1], auth: Symbol('x') } })).not.toThrow()
    }
    expect(() => parseCredentials({ query: Object.create(null) })).not.toThrow()
  })

  it('never echoes the credential in a malformed reason', async () => {
    const secret = 'sekrit-value'
    const result = parseCredentials({ authorization: `Bearer ${secret} more` })
    expect(result.kind).toBe('malformed')
    expect(JSON.stringify(result)).not.toContain(secret)
  })
})

describe('challenge', () => {
  it('echoes the scheme the client used, and the fallback for query or absent credentials', async () => {
    expect(challengeScheme(parseCredentials(header(`License ${KEY}`)))).toBe('License')
    expect(challengeScheme(parseCredentials(header(`Basic ${b64('license:x')}`)))).toBe('Basic')
    expect(challengeScheme(parseCredentials(header('Token x')))).toBe('Bearer')
    expect(challengeScheme(parseCredentials(query({ token: 'x' })), 'Basic')).toBe('Basic')
    expect(challengeScheme(parseCredentials({}), 'Basic')).toBe('Basic')
    expect(challengeScheme(parseCredentials({}))).toBe('Bearer')
  })

  it('formats the WWW-Authenticate value with a sanitised realm', async () => {
    expect(challengeHeader('Bearer')).toBe('Bearer realm="keygen"')
    expect(challengeHeader('Basic', 'my "gw"')).toBe('Basic realm="my gw"')
  })
})
