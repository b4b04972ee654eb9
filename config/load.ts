import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type ConfigInput, configSchema, envBindings, type PkgwayConfig } from './schema.ts'

/** ConfigError lists every invalid setting at once, one `key: reason` per problem. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`)
    this.name = 'ConfigError'
  }
}

export interface LoadOptions {
  /** Environment to read (defaults to process.env). */
  env?: NodeJS.ProcessEnv
  /** Path of a JSON config file; PKGWAY_CONFIG is used when absent. */
  file?: string
  /** Values that win over file and environment (tests, embedding). */
  overrides?: ConfigInput
}

type Tree = Record<string, unknown>

function setPath(target: Tree, path: readonly string[], value: unknown): void {
  let node = target
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {}
    node = node[key] as Tree
  }
  node[path[path.length - 1]] = value
}

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base }
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue
    const prev = out[key]
    const bothObjects = typeof prev === 'object' && prev !== null && typeof value === 'object' && value !== null
    out[key] = bothObjects && !Array.isArray(value) ? merge(prev as Tree, value as Tree) : value
  }
  return out
}

function readEnv(env: NodeJS.ProcessEnv, problems: string[]): Tree {
  const out: Tree = {}
  for (const [name, path, kind] of envBindings) {
    const raw = env[name]
    if (raw === undefined || raw === '') continue
    if (kind === 'int') {
      if (!/^\d+$/.test(raw.trim())) problems.push(`${name}: must be a whole number (got ${JSON.stringify(raw)})`)
      else setPath(out, path, Number(raw.trim()))
    } else if (kind === 'bool') {
      const v = raw.trim().toLowerCase()
      if (['1', 'true', 'yes', 'on'].includes(v)) setPath(out, path, true)
      else if (['0', 'false', 'no', 'off'].includes(v)) setPath(out, path, false)
      else problems.push(`${name}: must be true or false (got ${JSON.stringify(raw)})`)
    } else {
      setPath(out, path, raw)
    }
  }
  return out
}

function readFile(file: string, problems: string[]): Tree {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    problems.push(`config file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`)
    return {}
  }
  try {
    const parsed: unknown = JSON.parse(text)
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      problems.push(`config file ${file}: must hold a JSON object`)
      return {}
    }
    return parsed as Tree
  } catch (err) {
    problems.push(`config file ${file}: not valid JSON (${(err as Error).message})`)
    return {}
  }
}

/**
 * loadConfig merges, lowest first: defaults, the JSON file, environment variables, then overrides.
 * It throws one {@link ConfigError} naming every bad key, so an operator fixes them all in one go.
 */
export function loadConfig(opts: LoadOptions = {}): PkgwayConfig {
  const env = opts.env ?? process.env
  const problems: string[] = []
  const file = opts.file ?? env.PKGWAY_CONFIG
  let tree: Tree = file ? readFile(file, problems) : {}
  tree = merge(tree, readEnv(env, problems))
  if (opts.overrides) tree = merge(tree, opts.overrides as Tree)
  const parsed = configSchema.safeParse(tree)
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push(`${issue.path.join('.') || '(root)'}: ${issue.message}`)
    }
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems)
  return Object.freeze(parsed.data)
}

/**
 * resolveSigningSecret returns the configured secret or the one persisted under dataDir,
 * creating it (mode 0600) on first start so signed URLs survive restarts.
 */
export function resolveSigningSecret(config: PkgwayConfig): string {
  if (config.signingSecret) return config.signingSecret
  const path = join(config.dataDir, 'signing-secret')
  try {
    const existing = readFileSync(path, 'utf8').trim()
    if (existing.length >= 32) return existing
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  mkdirSync(config.dataDir, { recursive: true })
  const secret = randomBytes(32).toString('hex')
  writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'w' })
  return secret
}
