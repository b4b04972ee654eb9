import { randomBytes } from 'node:crypto'
import semver from 'semver'
import { z } from 'zod'

/**
 * What the Tauri updater accepts from a dynamic update server, written from its source and docs:
 * - v2, `tauri-plugin-updater` `RemoteRelease` (plugins/updater/src/updater.rs): only `204 No Content` means
 *   "no update"; any other 2xx body must deserialize with `version` (semver, an optional leading `v`; alias
 *   `name`), `notes` (optional string or null), `pub_date` (optional RFC 3339), and, without `platforms`, `url`
 *   (an absolute URL: `url::Url`) and `signature` (a string, required: "the `signature` field was not set on the
 *   updater response"). The signature is base64 (standard, padded) of a minisign signature file
 *   (`minisign_verify::Signature::decode`); if its trusted comment names a `version:`, it must be the announced one.
 * - v1, tauri core `updater/core.rs`: the same fields (plus an optional Windows-only `with_elevated_task`
 *   boolean) and the same base64-of-minisign signature (`base64::decode`).
 * see: https://v2.tauri.app/plugin/updater/#dynamic-update-server
 */

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** minisignProblem mirrors `minisign_verify::Signature::decode` on the decoded text; null when it parses. */
function minisignProblem(text: string): string | null {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''))
  if (!lines[0]?.startsWith('untrusted comment: ')) return 'no untrusted comment line'
  const sig = Buffer.from(lines[1] ?? '', 'base64')
  if (!BASE64.test(lines[1] ?? '') || sig.length !== 74) return 'signature line is not 74 base64 bytes'
  const alg = sig.subarray(0, 2).toString('latin1')
  if (alg !== 'Ed' && alg !== 'ED') return `unknown signature algorithm ${alg}`
  if (!lines[2]?.startsWith('trusted comment: ')) return 'no trusted comment line'
  const global = lines[3] ?? ''
  if (!BASE64.test(global) || Buffer.from(global, 'base64').length !== 64) return 'global signature is not 64 bytes'
  return null
}

/** trustedComment is the signature's trusted comment (without its `trusted comment: ` prefix). */
export function trustedComment(signature: string): string {
  const line = Buffer.from(signature, 'base64').toString('utf8').split('\n')[2] ?? ''
  return line.replace(/^trusted comment: /, '').replace(/\r$/, '')
}

const signature = z
  .string()
  .refine((s) => BASE64.test(s) && s.length > 0, 'signature is not standard padded base64')
  .superRefine((s, ctx) => {
    const problem = minisignProblem(Buffer.from(s, 'base64').toString('utf8'))
    if (problem) ctx.addIssue({ code: 'custom', message: `signature: ${problem}` })
  })

const version = z.string().refine((v) => semver.valid(v.replace(/^v/, ''), { loose: false }) !== null, 'not semver')

const absoluteUrl = z.string().refine((u) => {
  try {
    const parsed = new URL(u)
    return parsed.protocol === 'http:' || parsed.protocol === 'https:'
  } catch {
    return false
  }
}, 'url is not absolute')

const dynamicV2 = z
  .object({
    version,
    notes: z.string().nullable().optional(),
    pub_date: z.string().regex(RFC3339, 'pub_date is not RFC 3339').nullable().optional(),
    url: absoluteUrl,
    signature,
  })
  .superRefine((body, ctx) => {
    // verify_signed_version: a signed `version:` must equal the announced version.
    const signed = trustedComment(body.signature)
      .split('\t')
      .find((f) => f.startsWith('version:'))
    if (signed && semver.neq(signed.slice(8).replace(/^v/, ''), body.version.replace(/^v/, ''))) {
      ctx.addIssue({ code: 'custom', message: `signed version ${signed} is not ${body.version}` })
    }
  })

const dynamicV1 = z.object({
  version,
  notes: z.string().nullable().optional(),
  pub_date: z.string().regex(RFC3339, 'pub_date is not RFC 3339').nullable().optional(),
  url: absoluteUrl,
  signature,
  with_elevated_task: z.boolean().optional(),
})

/**
 * updaterProblems lists why a Tauri updater (v1 or v2) would fail on this answer; [] when it would either
 * install the update or report "no update". Only 204 means no update; other non-2xx are errors.
 */
export function updaterProblems(updater: 'v1' | 'v2', status: number, body: string): string[] {
  if (status === 204) return body === '' ? [] : ['204 with a body']
  if (status < 200 || status > 299) return [`status ${status} is an error to the updater`]
  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    return ['body is not JSON']
  }
  const result = (updater === 'v1' ? dynamicV1 : dynamicV2).safeParse(json)
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
}

/**
 * fakeSignature is a minisign-shaped signature file (random signature bytes, real layout), base64-encoded as
 * `tauri signer sign` writes `.sig` files: enough for the engine and the schema, never verified.
 */
export function fakeSignature(file: string): string {
  const lines = [
    'untrusted comment: signature from tauri secret key',
    Buffer.concat([Buffer.from('ED'), randomBytes(72)]).toString('base64'),
    `trusted comment: timestamp:1700000000\tfile:${file}`,
    randomBytes(64).toString('base64'),
  ]
  return Buffer.from(`${lines.join('\n')}\n`).toString('base64')
}
