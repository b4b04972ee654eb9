import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { z } from 'zod'
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

/** readEnv parses the bound environment variables; `sources` learns which variable set which key path. */
function readEnv(env: NodeJS.ProcessEnv, problems: string[], sources: Map<string, string>): Tree {
  const out: Tree = {}
  for (const [name, path, kind] of envBindings) {
    const raw = env[name]
    if (raw === undefined || raw === '') continue
    const label = `${name} (${path.join('.')})`
    sources.set(path.join('.'), name)
    if (kind === 'int') {
      if (!/^\d+$/.test(raw.trim())) problems.push(`${label}: must be a whole number (got ${JSON.stringify(raw)})`)
      else setPath(out, path, Number(raw.trim()))
    } else if (kind === 'bool') {
      const v = raw.trim().toLowerCase()
      if (['1', 'true', 'yes', 'on'].includes(v)) setPath(out, path, true)
      else if (['0', 'false', 'no', 'off'].includes(v)) setPath(out, path, false)
      else problems.push(`${label}: must be true or false (got ${JSON.stringify(raw)})`)
    } else if (kind === 'list') {
      setPath(
        out,
        path,
        raw
          .split(',')
          .map((v) => v.trim())
          .filter((v) => v !== ''),
      )
    } else {
      setPath(out, path, raw)
    }
  }
  return out
}

/** describeIssue names the key (and the variable that set it) of one schema problem, e.g. `PKGWAY_STORAGE (storage.kind): …`. */
function describeIssue(issue: z.core.$ZodIssue, sources: Map<string, string>): string[] {
  const at = issue.path.map(String)
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `${[...at, key].join('.')}: unknown setting`)
  }
  const path = at.join('.')
  const name = sources.get(path)
  return [`${name ? `${name} (${path})` : path || '(root)'}: ${issue.message}`]
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
  const sources = new Map<string, string>()
  const file = opts.file ?? env.PKGWAY_CONFIG
  let tree: Tree = file ? readFile(file, problems) : {}
  tree = merge(tree, readEnv(env, problems, sources))
  if (opts.overrides) tree = merge(tree, opts.overrides as Tree)
  const parsed = configSchema.safeParse(tree)
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(...describeIssue(issue, sources))
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems)
  return Object.freeze(parsed.data)
}

/**
 * readLegacySigningSecret returns the secret that versions before the catalog-kept keys generated under
 * `<dataDir>/signing-secret`, or undefined. The first start on a catalog without keys adopts it, so URLs handed
 * out before the upgrade stay valid.
 */
export function readLegacySigningSecret(dataDir: string): string | undefined {
  try {
    const secret = readFileSync(join(dataDir, 'signing-secret'), 'utf8').trim()
    return secret.length >= 32 ? secret : undefined
  } catch {
    return undefined
  }
}

/**
 * quietSdkWarnings turns off the AWS SDK's multi-line "Node >= 22 will be required" notice, printed when an S3
 * client is built on Node 20: it is not actionable at run time and would break the one-line start-up errors.
 */
export function quietSdkWarnings(env: NodeJS.ProcessEnv = process.env): void {
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
}
