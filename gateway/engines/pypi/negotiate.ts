/**
 * Content negotiation for the simple repository API: PEP 503 HTML or PEP 691 JSON, chosen by the q-values of
 * the Accept header. see: https://peps.python.org/pep-0691/#version-format-selection
 */

export type Representation = 'html' | 'json'

/** Exact Content-Types of the two representations; pip checks them (`_ensure_api_header`). */
export const CONTENT_TYPES: Record<Representation, string> = {
  html: 'text/html; charset=utf-8',
  json: 'application/vnd.pypi.simple.v1+json',
}

/** Media types that name each representation; `latest` is PEP 691's alias for the newest version. */
const ALIASES: Record<Representation, readonly string[]> = {
  html: ['text/html', 'application/vnd.pypi.simple.v1+html', 'application/vnd.pypi.simple.latest+html'],
  json: ['application/vnd.pypi.simple.v1+json', 'application/vnd.pypi.simple.latest+json'],
}

interface MediaRange {
  type: string
  subtype: string
  q: number
}

/** parseAccept reads `type/subtype;q=…` ranges; parameters other than q are ignored, as PEP 691 clients send none. */
export function parseAccept(header: string): MediaRange[] {
  const ranges: MediaRange[] = []
  for (const part of header.split(',')) {
    const [mediaType, ...params] = part.split(';').map((s) => s.trim())
    const m = /^([\w.+*-]+)\/([\w.+*-]+)$/.exec(mediaType.toLowerCase())
    if (!m) continue
    let q = 1
    for (const param of params) {
      const qm = /^q\s*=\s*([0-9.]+)$/i.exec(param)
      if (qm) q = Math.min(1, Math.max(0, Number(qm[1]) || 0))
    }
    ranges.push({ type: m[1], subtype: m[2], q })
  }
  return ranges
}

/** Specificity of a range that matches mediaType: 3 exact, 2 `type/*`, 1 `* /*`, 0 no match. */
function specificity(range: MediaRange, mediaType: string): number {
  const [type, subtype] = mediaType.split('/')
  if (range.type === type && range.subtype === subtype) return 3
  if (range.type === type && range.subtype === '*') return 2
  if (range.type === '*' && range.subtype === '*') return 1
  return 0
}

/** quality is the q of the most specific range matching any alias of a representation (RFC 9110 §12.5.1). */
function quality(ranges: MediaRange[], rep: Representation): { q: number; exact: boolean } {
  let best = { q: 0, exact: false }
  for (const alias of ALIASES[rep]) {
    let spec = 0
    let q = 0
    for (const r of ranges) {
      const s = specificity(r, alias)
      if (s > spec || (s === spec && s > 0 && r.q > q)) {
        spec = s
        q = r.q
      }
    }
    if (q > best.q || (q === best.q && q > 0 && spec === 3)) best = { q, exact: spec === 3 }
  }
  return best
}

/** Outcomes by Accept header: a client sends the same one every time, and clients use a handful between them. */
const negotiated = new Map<string, Representation | null>()
const MAX_NEGOTIATED = 256

/**
 * negotiate picks the representation the client prefers. No Accept header, or only wildcards, gives HTML;
 * on a tie JSON wins only when the client named it explicitly. Returns null when the client accepts neither
 * (e.g. `Accept: application/json`); the engine answers that with 406, as PEP 691 recommends.
 */
export function negotiate(accept: string | undefined): Representation | null {
  if (!accept || accept.trim() === '') return 'html'
  let rep = negotiated.get(accept)
  if (rep === undefined) {
    if (negotiated.size >= MAX_NEGOTIATED) negotiated.clear()
    rep = negotiateAccept(accept)
    negotiated.set(accept, rep)
  }
  return rep
}

function negotiateAccept(accept: string): Representation | null {
  const ranges = parseAccept(accept.replace(/(^|,)\s*\*\s*(?=,|;|$)/g, '$1*/*'))
  if (ranges.length === 0) return 'html'
  const html = quality(ranges, 'html')
  const json = quality(ranges, 'json')
  if (html.q === 0 && json.q === 0) return null
  if (json.q > html.q) return 'json'
  if (json.q === html.q && json.exact && !html.exact) return 'json'
  return 'html'
}
