import { createHash } from 'node:crypto'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cleanEnv, type Exit, runPkgway } from '../cli/pkgway-process.ts'

/** Helpers for driving `node bin/pkgway.js` (the vendor commands) as a child process. */

export interface ApiAnswer {
  status: number
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON:API documents
  json: any
}

/** api calls the management API over HTTP with a bearer token (a test's own view of what the CLI did). */
export async function api(
  base: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<ApiAnswer> {
  const res = await fetch(`${base}${path}`, {
    method,
    redirect: 'manual',
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/vnd.api+json',
      prefer: 'no-download',
      ...(body === undefined ? {} : { 'content-type': 'application/vnd.api+json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, json: text ? JSON.parse(text) : null }
}

/** sha512raw is the keygen CLI's default checksum: SHA-512, standard base64 without padding. */
export const sha512raw = (buf: Buffer) => createHash('sha512').update(buf).digest('base64').replace(/=+$/, '')

export const tempDir = (prefix: string) => mkdtemp(join(tmpdir(), prefix))

/** cli runs one vendor command in cwd with PKGWAY_CLI_CONFIG pointing to configFile (and nothing else set). */
export function cli(args: string[], opts: { cwd: string; configFile: string; env?: NodeJS.ProcessEnv }): Promise<Exit> {
  return runPkgway(args, {
    cwd: opts.cwd,
    env: cleanEnv(opts.cwd, { PKGWAY_CLI_CONFIG: opts.configFile, ...opts.env }),
    timeoutMs: 60_000,
  })
}

/** lines splits output into its non-empty lines. */
export const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '')
