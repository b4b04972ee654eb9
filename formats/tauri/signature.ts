/**
 * The updater's `signature`: the base64 (standard alphabet, padded) of a whole minisign signature file, i.e. what
 * `tauri signer sign` writes to `<bundle>.sig`. The updater base64-decodes it and parses the minisign text
 * (`untrusted comment: …`, signature line, `trusted comment: …`, global signature line); anything else makes
 * it refuse the update. see: https://v2.tauri.app/plugin/updater/#signing-updates
 */

/** The first line of every minisign signature file. */
const MINISIGN_HEADER = 'untrusted comment:'
/** Base64 of {@link MINISIGN_HEADER}'s first 15 bytes (`untrusted comme`): every Tauri signature starts with it. */
const TAURI_PREFIX = Buffer.from(MINISIGN_HEADER.slice(0, 15)).toString('base64')

/** Longest signature accepted: a minisign file is ~350 bytes plus its comments. */
export const MAX_SIGNATURE_BYTES = 16 * 1024

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/**
 * tauriSignature turns what a vendor stored (an artifact's `signature` attribute, or the bytes of its `.sig`
 * file) into the updater's `signature`, or null when it is not a minisign signature at all (e.g. the keygen
 * CLI's Ed25519ph signature): such a value would only make the updater fail on the user's screen.
 * - the base64 form (`.sig` files, `tauri signer sign`) is returned without whitespace;
 * - a raw minisign file (`minisign -S` output, `*.minisig`) is base64-encoded as it is.
 */
export function tauriSignature(stored: string | null | undefined): string | null {
  if (!stored || stored.length > MAX_SIGNATURE_BYTES * 2) return null
  const text = stored.replace(/^\uFEFF/, '').trimStart()
  if (text.startsWith(MINISIGN_HEADER)) {
    return isMinisignText(text) ? Buffer.from(text, 'utf8').toString('base64') : null
  }
  const compact = text.replace(/\s+/g, '')
  if (!compact.startsWith(TAURI_PREFIX) || compact.length % 4 !== 0 || !BASE64.test(compact)) return null
  return isMinisignText(Buffer.from(compact, 'base64').toString('utf8')) ? compact : null
}

/** isMinisignText checks the shape the updater parses: four lines, the comments where minisign puts them. */
function isMinisignText(text: string): boolean {
  const lines = text.split(/\r?\n/).filter((l) => l !== '')
  return (
    lines.length >= 4 &&
    lines[0].startsWith(MINISIGN_HEADER) &&
    BASE64.test(lines[1]) &&
    lines[2].startsWith('trusted comment:') &&
    BASE64.test(lines[3])
  )
}
