/**
 * Credential parsing, in Keygen's order (management-api.md §3, engines.md §1.3). Pure: no I/O, never throws.
 *
 * 1. `Authorization` header, scheme matched case-insensitively:
 *    - `Bearer <token>` or `Token <token>` → token;
 *    - `Basic base64(user:pass)`: user `license` → license key = pass; user `token` → token = pass; any other
 *      user → {@link BasicPasswordCredentials} (the API treats the username as a token, the login route as
 *      `email:password`);
 *    - `License <key>` → license key;
 *    - any other scheme → none (and the query is not consulted).
 * 2. Only when no `Authorization` header was sent: `?token=` (first) or `?auth=`, valued `license:<key>`,
 *    `token:<token>` or a bare token (Keygen takes the part before the first `:` as the bare token).
 *
 * Credentials that are present but unusable (bad base64, empty values, repeated query parameters, oversized
 * values) are {@link MalformedCredentials}: the resolver answers 401, never anonymous.
 */

import { isUtf8 } from 'node:buffer'

/** The scheme a client used; it names the `WWW-Authenticate` challenge. `Token` is reported as `Bearer`. */
export type CredentialScheme = 'Bearer' | 'Basic' | 'License'

/** Where the credentials came from. */
export type CredentialSource = 'header' | 'query'

export interface NoCredentials {
  kind: 'none'
}

/** An API token (admin, product, user or license token). */
export interface TokenCredentials {
  kind: 'token'
  token: string
  /** Null for query credentials. */
  scheme: CredentialScheme | null
  source: CredentialSource
}

/** A license key (`License <key>`, Basic `license:<key>`, `?auth=license:<key>`). */
export interface LicenseKeyCredentials {
  kind: 'license-key'
  key: string
  scheme: CredentialScheme | null
  source: CredentialSource
}

/**
 * Basic credentials whose username is neither `license` nor `token`. Keygen's general rule makes the username a
 * token and ignores the password (`<token>:`); the login route (`POST /v1/tokens`) reads them as email/password.
 */
export interface BasicPasswordCredentials {
  kind: 'basic-password'
  username: string
  password: string
  scheme: 'Basic'
  source: 'header'
}

/** Credentials were sent but cannot be used; resolving them is a 401. */
export interface MalformedCredentials {
  kind: 'malformed'
  /** What the client meant to send, so the error code can match (TOKEN_INVALID or LICENSE_INVALID). */
  expected: 'token' | 'license-key'
  /** Short human-readable reason, safe to show (never contains the credential). */
  reason: string
  scheme: CredentialScheme | null
  source: CredentialSource
}

export type Credentials =
  | NoCredentials
  | TokenCredentials
  | LicenseKeyCredentials
  | BasicPasswordCredentials
  | MalformedCredentials

/** What {@link parseCredentials} reads from a request. */
export interface CredentialInput {
  /** The raw `Authorization` header (Node gives a string; anything else is treated as malformed). */
  authorization?: unknown
  /** The parsed query string (request.query). */
  query?: unknown
}

/** Longest accepted Authorization header value and query credential, in characters. */
export const MAX_AUTHORIZATION_LENGTH = 8192
export const MAX_QUERY_CREDENTIAL_LENGTH = 4096

export const NO_CREDENTIALS: NoCredentials = { kind: 'none' }

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
const WHITESPACE = /\s/

/** parseCredentials reads the request's credentials; it never throws. */
export function parseCredentials(input: CredentialInput): Credentials {
  const header = input.authorization
  if (header === undefined || header === null || (typeof header === 'string' && header.trim() === '')) {
    return parseQuery(input.query)
  }
  if (typeof header !== 'string') {
    return malformed('token', 'the Authorization header must be sent once', null, 'header')
  }
  if (header.length > MAX_AUTHORIZATION_LENGTH) {
    return malformed('token', 'the Authorization header is too long', null, 'header')
  }
  const trimmed = header.trim()
  const space = trimmed.search(WHITESPACE)
  const scheme = (space === -1 ? trimmed : trimmed.slice(0, space)).toLowerCase()
  const value = space === -1 ? '' : trimmed.slice(space).trim()
  switch (scheme) {
    case 'bearer':
    case 'token':
      return parseBearer(value)
    case 'basic':
      return parseBasic(value)
    case 'license':
      if (value === '') return malformed('license-key', 'the license key is empty', 'License', 'header')
      return { kind: 'license-key', key: value, scheme: 'License', source: 'header' }
    default:
      return NO_CREDENTIALS
  }
}

function parseBearer(value: string): Credentials {
  if (value === '') return malformed('token', 'the token is empty', 'Bearer', 'header')
  if (WHITESPACE.test(value)) return malformed('token', 'the token contains whitespace', 'Bearer', 'header')
  return { kind: 'token', token: value, scheme: 'Bearer', source: 'header' }
}

function parseBasic(value: string): Credentials {
  if (value === '') return malformed('token', 'the Basic credentials are empty', 'Basic', 'header')
  if (!BASE64.test(value) || value.length % 4 === 1) {
    return malformed('token', 'the Basic credentials are not valid base64', 'Basic', 'header')
  }
  const bytes = Buffer.from(value, 'base64')
  if (!isUtf8(bytes)) return malformed('token', 'the Basic credentials are not valid UTF-8', 'Basic', 'header')
  const decoded = bytes.toString('utf8')
  const colon = decoded.indexOf(':')
  // RFC 7617 wants a colon; Rails (and so Keygen) reads a missing one as an empty password.
  const username = colon === -1 ? decoded : decoded.slice(0, colon)
  const password = colon === -1 ? '' : decoded.slice(colon + 1)
  if (username === '') return malformed('token', 'the Basic username is empty', 'Basic', 'header')
  if (username === 'license') {
    if (password === '') return malformed('license-key', 'the license key is empty', 'Basic', 'header')
    return { kind: 'license-key', key: password, scheme: 'Basic', source: 'header' }
  }
  if (username === 'token') {
    if (password === '') return malformed('token', 'the token is empty', 'Basic', 'header')
    return { kind: 'token', token: password, scheme: 'Basic', source: 'header' }
  }
  return { kind: 'basic-password', username, password, scheme: 'Basic', source: 'header' }
}

function parseQuery(query: unknown): Credentials {
  if (typeof query !== 'object' || query === null) return NO_CREDENTIALS
  const name = Object.hasOwn(query, 'token') ? 'token' : Object.hasOwn(query, 'auth') ? 'auth' : null
  if (name === null) return NO_CREDENTIALS
  const raw = (query as Record<string, unknown>)[name]
  if (typeof raw !== 'string') return malformed('token', `the ${name} parameter must be given once`, null, 'query')
  if (raw === '') return malformed('token', `the ${name} parameter is empty`, null, 'query')
  if (raw.length > MAX_QUERY_CREDENTIAL_LENGTH) {
    return malformed('token', `the ${name} parameter is too long`, null, 'query')
  }
  const colon = raw.indexOf(':')
  const prefix = colon === -1 ? raw : raw.slice(0, colon)
  const rest = colon === -1 ? '' : raw.slice(colon + 1)
  if (prefix === 'license') {
    if (rest === '') return malformed('license-key', 'the license key is empty', null, 'query')
    return { kind: 'license-key', key: rest, scheme: null, source: 'query' }
  }
  if (prefix === 'token') {
    if (rest === '') return malformed('token', 'the token is empty', null, 'query')
    return { kind: 'token', token: rest, scheme: null, source: 'query' }
  }
  if (prefix === '') return malformed('token', 'the token is empty', null, 'query')
  return { kind: 'token', token: prefix, scheme: null, source: 'query' }
}

function malformed(
  expected: MalformedCredentials['expected'],
  reason: string,
  scheme: CredentialScheme | null,
  source: CredentialSource,
): MalformedCredentials {
  return { kind: 'malformed', expected, reason, scheme, source }
}

/** The scheme a 401 should challenge with: the one the client used, else the route's default. */
export function challengeScheme(credentials: Credentials, fallback: 'Bearer' | 'Basic' = 'Bearer'): CredentialScheme {
  return credentials.kind === 'none' ? fallback : (credentials.scheme ?? fallback)
}

/** The `WWW-Authenticate` value, e.g. `Bearer realm="keygen"` (quotes are stripped from the realm). */
export function challengeHeader(scheme: CredentialScheme, realm = 'keygen'): string {
  return `${scheme} realm="${realm.replace(/["\\\r\n]/g, '')}"`
}
