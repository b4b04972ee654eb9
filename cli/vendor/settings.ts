import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { CliError, UsageError } from './errors.ts'

/**
 * Where the vendor commands find their server and credentials. This is the only module of the vendor CLI that
 * reads process.env: PKGWAY_CLI_CONFIG (the config file), PKGWAY_URL, PKGWAY_TOKEN and PKGWAY_ACCOUNT.
 * Precedence: command-line flags, then environment, then the file written by `pkgway login`.
 */

export interface StoredLogin {
  host: string
  token: string
  account?: string
}

export interface ConnectionFlags {
  host?: string
  token?: string
  account?: string
}

export interface Connection {
  host: string
  token: string
  /** Account slug or id: requests go to /v1/accounts/<account>/…; bare /v1/… when absent. */
  account?: string
}

/** configPath is $PKGWAY_CLI_CONFIG, or ~/.config/pkgway/cli.json. */
export function configPath(): string {
  const explicit = process.env.PKGWAY_CLI_CONFIG
  if (explicit) return explicit
  return join(homedir(), '.config', 'pkgway', 'cli.json')
}

/** envConnection is what the environment says (unset or empty variables are absent). */
function envConnection(): ConnectionFlags {
  const get = (name: string) => process.env[name] || undefined
  return { host: get('PKGWAY_URL'), token: get('PKGWAY_TOKEN'), account: get('PKGWAY_ACCOUNT') }
}

/** readLogin loads the config file; undefined when there is none. */
export async function readLogin(path = configPath()): Promise<StoredLogin | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new CliError(`cannot read config file ${path}: ${(err as Error).message}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new CliError(`config file ${path} is not valid JSON; run pkgway login again`)
  }
  const o = parsed as Partial<StoredLogin> | null
  if (!o || typeof o !== 'object' || typeof o.host !== 'string' || typeof o.token !== 'string') {
    throw new CliError(`config file ${path} has no host and token; run pkgway login again`)
  }
  return { host: o.host, token: o.token, ...(typeof o.account === 'string' ? { account: o.account } : {}) }
}

/**
 * writeLogin stores the login with mode 0600 (its directory, when created, 0700). The file is written beside
 * the target and renamed over it, so a reader never sees half a file and an older, wider mode is not kept.
 */
export async function writeLogin(login: StoredLogin, path = configPath()): Promise<void> {
  const dir = dirname(path)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const tmp = join(dir, `.cli.json.${process.pid}.tmp`)
  try {
    await writeFile(tmp, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600, flag: 'w' })
    await chmod(tmp, 0o600)
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true })
    throw new CliError(`cannot write config file ${path}: ${(err as Error).message}`)
  }
}

/** removeLogin deletes the config file; false when there was none. */
export async function removeLogin(path = configPath()): Promise<boolean> {
  try {
    await rm(path)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw new CliError(`cannot remove config file ${path}: ${(err as Error).message}`)
  }
}

/** normalizeHost accepts `host[:port]` (https is assumed, as the keygen CLI does) or an http(s) URL. */
export function normalizeHost(raw: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    throw new UsageError(`invalid host ${JSON.stringify(raw)}: use a URL such as https://pkgway.example.com`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`invalid host ${JSON.stringify(raw)}: only http and https are supported`)
  }
  if (url.search || url.hash) throw new UsageError(`invalid host ${JSON.stringify(raw)}: no query or fragment allowed`)
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`
}

/** resolveConnection merges flags, environment and the config file; a missing host or token is a usage error. */
export async function resolveConnection(flags: ConnectionFlags): Promise<Connection> {
  const env = envConnection()
  const needFile = !(flags.host ?? env.host) || !(flags.token ?? env.token)
  // The file is only needed for what flags and environment leave out; a broken one matters only then.
  let stored: StoredLogin | undefined
  if (needFile) stored = await readLogin()
  else if (!(flags.account ?? env.account)) stored = await readLogin().catch(() => undefined)
  const host = flags.host ?? env.host ?? stored?.host
  // The stored token belongs to the stored host: never send it to another gateway named on the command line.
  const storedToken = stored && host && normalizeHost(stored.host) === normalizeHost(host) ? stored.token : undefined
  const token = flags.token ?? env.token ?? storedToken
  if (!host || !token) {
    throw new UsageError('not logged in: run pkgway login --host <url> --token <token>, or pass --host and --token')
  }
  // A stored account belongs to the stored host; it is not applied to a host given on the command line.
  const storedAccount = stored && normalizeHost(stored.host) === normalizeHost(host) ? stored.account : undefined
  const account = flags.account ?? env.account ?? storedAccount
  return { host: normalizeHost(host), token, ...(account ? { account } : {}) }
}

/** loginInput is `pkgway login`'s connection: flags, else environment (never the old file). */
export function loginInput(flags: ConnectionFlags): Connection {
  const env = envConnection()
  const host = flags.host ?? env.host
  const token = flags.token ?? env.token
  if (!host) throw new UsageError('login needs --host <url> (or PKGWAY_URL)')
  if (!token) throw new UsageError('login needs --token <token> (or PKGWAY_TOKEN)')
  const account = flags.account ?? env.account
  return { host: normalizeHost(host), token, ...(account ? { account } : {}) }
}
