import { createHash } from 'node:crypto'

import { MANIFEST_TYPES } from '../manifest-types.ts'

/** Manifest content type under which the upload worker stores a wheel's METADATA file. */
export const CORE_METADATA_TYPE = MANIFEST_TYPES.coreMetadata

/** CoreMetadata is what the simple pages need from a wheel's METADATA file. */
export interface CoreMetadata {
  /** The exact bytes served at `<file url>.metadata` (PEP 658). */
  bytes: Buffer
  /** Hex sha256 of {@link bytes}, advertised as `data-core-metadata="sha256=…"`. */
  sha256: string
  /** `Requires-Python` header, when present. */
  requiresPython: string | null
  /** `Version` header, when present. */
  version: string | null
}

/**
 * headerValue reads one header of an RFC 822-style core metadata file: headers end at the first blank line
 * (the description body follows), and continuation lines start with whitespace.
 * see: https://packaging.python.org/en/latest/specifications/core-metadata/
 */
export function headerValue(text: string, name: string): string | null {
  const lines = text.split(/\r?\n/)
  const wanted = name.toLowerCase()
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (line === '') break
    const colon = line.indexOf(':')
    if (colon <= 0 || /^\s/.test(line) || line.slice(0, colon).trim().toLowerCase() !== wanted) continue
    let value = line.slice(colon + 1).trim()
    while (i + 1 < lines.length && /^[ \t]/.test(lines[i + 1])) value += ` ${lines[++i].trim()}`
    return value === '' ? null : value
  }
  return null
}

/**
 * parseCoreMetadata hashes the stored METADATA text as it will be served, so the advertised digest always
 * matches the bytes pip receives, and picks the headers the pages show.
 */
export function parseCoreMetadata(content: string): CoreMetadata {
  const bytes = Buffer.from(content, 'utf8')
  return {
    bytes,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    requiresPython: headerValue(content, 'Requires-Python'),
    version: headerValue(content, 'Version'),
  }
}
