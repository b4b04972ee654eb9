import { MANIFEST_PREFERENCE } from './media-types.ts'

/**
 * Accept negotiation of manifest GETs. Clients send several `Accept` lines (skopeo sends six; Node joins them
 * with `, `), each possibly listing several types with parameters. Every value counts; q-values only exclude
 * (`q=0`), they never reorder: among acceptable manifests the registry's own preference wins (engines.md §2.5).
 */
export interface AcceptedTypes {
  /** `*` / `*\/*` (or no Accept at all): any manifest type. */
  any: boolean
  types: ReadonlySet<string>
}

const ANY: AcceptedTypes = { any: true, types: new Set() }

/** parseAccept reads an Accept header (string, or Node's array form) into the set of acceptable types. */
export function parseAccept(header: string | string[] | undefined): AcceptedTypes {
  if (header === undefined) return ANY
  const text = Array.isArray(header) ? header.join(',') : header
  if (text.trim() === '') return ANY
  const types = new Set<string>()
  let any = false
  for (const part of text.split(',')) {
    const [type, ...params] = part.split(';').map((s) => s.trim())
    if (type === '') continue
    const q = params.find((p) => /^q\s*=/i.test(p))
    if (q && Number(q.split('=')[1]) === 0) continue
    const lower = type.toLowerCase()
    if (lower === '*/*' || lower === '*') any = true
    else types.add(lower)
  }
  return any || types.size === 0 ? { any: true, types } : { any: false, types }
}

/** accepts: the client takes this media type. */
export const accepts = (accepted: AcceptedTypes, mediaType: string): boolean =>
  accepted.any || accepted.types.has(mediaType)

/** preferenceRank orders manifest types: lower is preferred; unknown types come last. */
export function preferenceRank(mediaType: string): number {
  const i = MANIFEST_PREFERENCE.indexOf(mediaType)
  return i === -1 ? MANIFEST_PREFERENCE.length : i
}
