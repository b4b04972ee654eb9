import { badRequest } from '../../errors.ts'
import { parseConstraint, type VersionConstraint } from '../../read-model/select-upgrade.ts'

/** An update check's query: `platform`, `arch`, `version` required; `channel`, `constraint` optional. */
export interface UpdateQuery {
  /** The updater's `{{target}}`, lower-cased. */
  platform: string
  /** The updater's `{{arch}}`, lower-cased. */
  arch: string
  /** The running version, as stored (`{{current_version}}`). */
  version: string
  /** Absent: the current release's channel. An unknown one is kept: it has no upgrade (204). */
  channel?: string
  constraint?: VersionConstraint
}

const MAX_LENGTH = 255

/** single reads a query parameter given at most once, as a string of at most 255 characters. */
function single(query: Record<string, unknown>, name: string): string | undefined {
  const value = query[name]
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw badRequest('must be given once', { parameter: name }, 'PARAMETER_INVALID')
  if (value.length > MAX_LENGTH) {
    throw badRequest(`must be at most ${MAX_LENGTH} characters`, { parameter: name }, 'PARAMETER_INVALID')
  }
  return value
}

function required(query: Record<string, unknown>, name: string): string {
  const value = single(query, name)
  if (value === undefined) throw badRequest('is missing', { parameter: name }, 'PARAMETER_MISSING')
  if (value.trim() === '') throw badRequest('cannot be blank', { parameter: name }, 'PARAMETER_INVALID')
  return value
}

/**
 * parseUpdateQuery validates the query in the order Keygen names the parameters (`platform`, `arch`, `version`);
 * unknown parameters (credentials, `bundle_type`, …) are ignored. A bad value is a 400 naming the parameter.
 * The version's `+` may arrive as a space when a Tauri v1 updater did not percent-encode `{{current_version}}`.
 * see: ../shared/spec/engines.md §2.6 step 3
 */
export function parseUpdateQuery(raw: unknown): UpdateQuery {
  const query = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>
  const platform = required(query, 'platform').toLowerCase()
  const arch = required(query, 'arch').toLowerCase()
  const version = required(query, 'version').trim().replace(/ /g, '+')
  const channel = single(query, 'channel') || undefined
  const rawConstraint = single(query, 'constraint') || undefined
  const constraint = rawConstraint === undefined ? undefined : parseConstraint(rawConstraint)
  if (constraint === null) {
    throw badRequest(
      'must be a valid version constraint: x, x.y, x.y.z',
      { parameter: 'constraint' },
      'CONSTRAINT_INVALID',
    )
  }
  return { platform, arch, version, channel: channel?.toLowerCase(), constraint }
}

/** Media types the route answers: JSON, and what Tauri v1 sends (octet-stream). see: engines.md §1.5 */
const ACCEPTED = new Set(['*/*', '*', 'application/*', 'application/json', 'application/octet-stream'])

/** requireAcceptable rejects an Accept header that allows none of the route's types (400 MIME_TYPE_INVALID). */
export function requireAcceptable(accept: string | undefined): void {
  if (accept === undefined || accept.trim() === '') return
  const ranges = accept.split(',').map((r) => r.split(';')[0].trim().toLowerCase())
  if (ranges.some((r) => ACCEPTED.has(r))) return
  throw badRequest(
    'The mime type of the request is not acceptable (check content-type and accept headers)',
    { header: 'Accept' },
    'MIME_TYPE_INVALID',
  )
}
