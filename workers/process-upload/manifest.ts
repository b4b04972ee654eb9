import { createHash } from 'node:crypto'
import { RejectedUpload } from './errors.ts'

export { MANIFEST_TYPES } from '../../formats/manifest-types.ts'

/** ManifestDraft is a manifest before it gets its row (digest and length are derived from content). */
export interface ManifestDraft {
  contentType: string
  contentPath: string
  content: string
}

export interface ManifestFields {
  content_type: string
  content_path: string
  content: string
  content_digest: string
  content_length: number
}

/** manifestFields computes `sha256:<hex>` and the byte length of the UTF-8 content. */
export function manifestFields(draft: ManifestDraft): ManifestFields {
  const bytes = Buffer.from(draft.content, 'utf8')
  return {
    content_type: draft.contentType,
    content_path: draft.contentPath,
    content: draft.content,
    content_digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    content_length: bytes.length,
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** decodeUtf8 keeps the exact bytes (a BOM included), so the stored content hashes like the original file. */
export function decodeUtf8(buf: Buffer, what: string): string {
  try {
    return utf8.decode(buf)
  } catch {
    throw new RejectedUpload(`${what} is not valid UTF-8`)
  }
}

/** firstLine shortens a parser's message to its first line. */
export function firstLine(message: string): string {
  return message.split('\n')[0].trim()
}
