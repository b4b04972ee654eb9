import type { FastifyReply, FastifyRequest } from 'fastify'
import { badRequest, GatewayError } from '../errors.ts'
import { wantsPlainJson } from '../plugins/error-handler.ts'

/**
 * JSON:API documents shaped as Keygen shapes them: `{ data: { id, type, attributes, relationships, links } }`,
 * attributes in lowerCamel, metadata keys camel-cased on output and snake-cased on input.
 * see: ../shared/spec/management-api.md §0
 */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json }
export type JsonObject = { [k: string]: Json }

export interface ResourceObject {
  id: string
  type: string
  attributes: Record<string, unknown>
  relationships?: Record<string, unknown>
  links?: Record<string, string | null>
}

export const snakeCase = (k: string): string =>
  k
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/-/g, '_')
    .toLowerCase()
export const camelCase = (k: string): string => k.replace(/[_-]([a-z0-9])/g, (_, c: string) => c.toUpperCase())

function mapKeys(value: unknown, fn: (k: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => mapKeys(v, fn))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [fn(k), mapKeys(v, fn)]))
  }
  return value
}

/** metadataOut parses a stored metadata column and camel-cases its keys for the wire. */
export function metadataOut(stored: string | null): Record<string, unknown> {
  if (!stored) return {}
  try {
    return mapKeys(JSON.parse(stored), camelCase) as Record<string, unknown>
  } catch {
    return {}
  }
}

/** metadataIn validates incoming metadata (object, ≤64 keys, ≤16 KiB) and snake-cases its keys for storage. */
export function metadataIn(value: unknown, pointer: string): string {
  if (value === null) return '{}'
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest('type mismatch (received non-object expected object)', { pointer })
  }
  if (Object.keys(value).length > 64)
    throw unprocessableAttr('METADATA_TOO_MANY_KEYS', 'too many keys (maximum is 64)', pointer)
  const text = JSON.stringify(mapKeys(value, snakeCase))
  if (Buffer.byteLength(text) > 16 * 1024)
    throw unprocessableAttr('METADATA_TOO_LARGE', 'is too large (maximum is 16 KiB)', pointer)
  return text
}

export function unprocessableAttr(code: string, detail: string, pointer: string): GatewayError {
  return new GatewayError(code, detail, 422, { title: 'Unprocessable resource', source: { pointer } })
}

export const accountLink = (accountId: string) => `/v1/accounts/${accountId}`

export function relationship(_accountId: string, related: string, data?: { type: string; id: string } | null) {
  return data === undefined ? { links: { related } } : { links: { related }, data }
}

export function accountRelationship(accountId: string) {
  return relationship(accountId, accountLink(accountId), { type: 'accounts', id: accountId })
}

/** send writes a JSON:API document (or its JSON, serialized before) with the media type the client prefers. */
export function sendDocument(request: FastifyRequest, reply: FastifyReply, status: number, doc: unknown): FastifyReply {
  return reply
    .code(status)
    .type(wantsPlainJson(request) ? 'application/json; charset=utf-8' : 'application/vnd.api+json; charset=utf-8')
    .send(doc)
}

// ---------------------------------------------------------------------------------------------------------
// Input

export type AttrKind = 'string' | 'integer' | 'boolean' | 'object' | 'string[]' | 'timestamp'

export interface AttrSpec {
  kind: AttrKind
  nullable?: boolean
  /** Maximum length of a string, in characters. */
  max?: number
}

export type AttrSpecs = Record<string, AttrSpec>

export interface ParsedResource {
  id?: string
  attributes: Record<string, unknown>
  relationships: Record<string, unknown>
}

function typeName(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'float'
  return typeof v
}

function checkAttr(name: string, spec: AttrSpec, value: unknown): unknown {
  const pointer = `/data/attributes/${name}`
  if (value === null) {
    if (spec.nullable) return null
    throw badRequest(`type mismatch (received null expected ${spec.kind})`, { pointer })
  }
  const mismatch = (expected: string) =>
    badRequest(`type mismatch (received ${typeName(value)} expected ${expected})`, { pointer })
  switch (spec.kind) {
    case 'string':
    case 'timestamp': {
      if (typeof value !== 'string') throw mismatch('string')
      if (spec.max !== undefined && value.length > spec.max) {
        throw unprocessableAttr(
          `${snakeCase(name).toUpperCase()}_TOO_LONG`,
          `is too long (maximum is ${spec.max} characters)`,
          pointer,
        )
      }
      if (spec.kind === 'timestamp' && Number.isNaN(Date.parse(value))) {
        throw unprocessableAttr(
          `${snakeCase(name).toUpperCase()}_INVALID`,
          'must be a valid ISO 8601 timestamp',
          pointer,
        )
      }
      return value
    }
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw mismatch('integer')
      return value
    case 'boolean':
      if (typeof value !== 'boolean') throw mismatch('boolean')
      return value
    case 'object':
      if (typeof value !== 'object' || Array.isArray(value)) throw mismatch('object')
      return value
    case 'string[]':
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw mismatch('array of strings')
      return value
  }
}

/**
 * parseResource reads `{ data: { type, id?, attributes, relationships } }` strictly: the type must match
 * (singular or plural), unknown attributes and relationships are a 400 with source.pointer, and every
 * attribute is type-checked against its spec. Keys keep their wire (camelCase) names.
 */
export function parseResource(
  body: unknown,
  type: string,
  attrs: AttrSpecs,
  relationships: readonly string[] = [],
): ParsedResource {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('request body must be a JSON object with a data member', { pointer: '/' }, 'PARAMETER_MISSING')
  }
  const data = (body as { data?: unknown }).data
  if (data === undefined) throw badRequest('is missing', { pointer: '/data' }, 'PARAMETER_MISSING')
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw badRequest('type mismatch (expected object)', { pointer: '/data' })
  }
  const d = data as Record<string, unknown>
  const singular = type.replace(/ies$/, 'y').replace(/s$/, '')
  if (d.type !== type && d.type !== singular) {
    throw badRequest(
      `type mismatch (expected ${type})`,
      { pointer: '/data/type' },
      d.type === undefined ? 'PARAMETER_MISSING' : 'TYPE_INVALID',
    )
  }
  for (const key of Object.keys(d)) {
    if (!['type', 'id', 'attributes', 'relationships', 'meta', 'links'].includes(key)) {
      throw badRequest('is not permitted', { pointer: `/data/${key}` }, 'PARAMETER_UNPERMITTED')
    }
  }
  if (d.id !== undefined && typeof d.id !== 'string')
    throw badRequest('type mismatch (expected string)', { pointer: '/data/id' })
  const rawAttrs = d.attributes ?? {}
  if (rawAttrs === null || typeof rawAttrs !== 'object' || Array.isArray(rawAttrs)) {
    throw badRequest('type mismatch (expected object)', { pointer: '/data/attributes' })
  }
  const attributes: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(rawAttrs)) {
    const spec = attrs[name]
    if (!spec) throw badRequest('is not permitted', { pointer: `/data/attributes/${name}` }, 'ATTRIBUTE_UNPERMITTED')
    attributes[name] = checkAttr(name, spec, value)
  }
  const rawRels = d.relationships ?? {}
  if (rawRels === null || typeof rawRels !== 'object' || Array.isArray(rawRels)) {
    throw badRequest('type mismatch (expected object)', { pointer: '/data/relationships' })
  }
  for (const name of Object.keys(rawRels)) {
    if (!relationships.includes(name)) {
      throw badRequest('is not permitted', { pointer: `/data/relationships/${name}` }, 'RELATIONSHIP_UNPERMITTED')
    }
  }
  return { id: d.id as string | undefined, attributes, relationships: rawRels as Record<string, unknown> }
}

/**
 * relationshipId reads `relationships.<name>.data.id` for a to-one relationship of the given type.
 * Returns undefined when absent, null when explicitly null.
 */
export function relationshipId(parsed: ParsedResource, name: string, type: string): string | null | undefined {
  const rel = parsed.relationships[name]
  if (rel === undefined) return undefined
  const pointer = `/data/relationships/${name}`
  if (rel === null || typeof rel !== 'object' || !('data' in rel))
    throw badRequest('type mismatch (expected object with data)', { pointer })
  const data = (rel as { data: unknown }).data
  if (data === null) return null
  if (typeof data !== 'object' || Array.isArray(data))
    throw badRequest('type mismatch (expected object)', { pointer: `${pointer}/data` })
  const { type: t, id } = data as { type?: unknown; id?: unknown }
  const singular = type.replace(/ies$/, 'y').replace(/s$/, '')
  if (t !== type && t !== singular)
    throw badRequest(`type mismatch (expected ${type})`, { pointer: `${pointer}/data/type` })
  if (typeof id !== 'string' || id.length === 0)
    throw badRequest('type mismatch (expected string)', { pointer: `${pointer}/data/id` })
  return id
}

/** linkageList reads `{ data: [{ type, id }] }` bodies (attach/detach entitlements, users). */
export function linkageList(body: unknown, type: string, max = 100): string[] {
  const data = (body as { data?: unknown } | null)?.data
  if (!Array.isArray(data)) throw badRequest('type mismatch (expected array)', { pointer: '/data' })
  if (data.length === 0 || data.length > max) throw badRequest(`must contain 1 to ${max} items`, { pointer: '/data' })
  const singular = type.replace(/ies$/, 'y').replace(/s$/, '')
  return data.map((item, i) => {
    const { type: t, id } = (item ?? {}) as { type?: unknown; id?: unknown }
    if (t !== type && t !== singular)
      throw badRequest(`type mismatch (expected ${type})`, { pointer: `/data/${i}/type` })
    if (typeof id !== 'string') throw badRequest('type mismatch (expected string)', { pointer: `/data/${i}/id` })
    return id
  })
}
