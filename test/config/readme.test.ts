import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { configSchema, envBindings } from '../../config/schema.ts'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

type Def = { type: string; innerType?: unknown; in?: unknown; shape?: Record<string, unknown> }

/** settingPaths lists the dotted path of every leaf setting of the schema (unwrapping defaults and optionals). */
function settingPaths(schema: unknown, prefix: string[] = []): string[] {
  let def = (schema as { def: Def }).def
  while (def.type === 'optional' || def.type === 'default' || def.type === 'pipe') {
    def = ((def.type === 'pipe' ? def.in : def.innerType) as { def: Def }).def
  }
  if (def.type === 'object') return Object.entries(def.shape!).flatMap(([k, v]) => settingPaths(v, [...prefix, k]))
  return [prefix.join('.')]
}

/** The configuration table: JSON key → its row. */
const rows = new Map(
  readme
    .split('\n')
    .filter((line) => /^\| `[A-Z0-9_]+`/.test(line))
    .map((line) => [line.split('|')[2].trim().replace(/`/g, ''), line] as const),
)

describe('README configuration table', () => {
  it.each(settingPaths(configSchema))('documents %s with its environment variables', (path) => {
    const row = rows.get(path)
    expect(row, `no row for ${path}`).toBeDefined()
    for (const [name, keyPath] of envBindings) {
      if (keyPath.join('.') === path) expect(row).toContain(`\`${name}\``)
    }
  })

  it('documents no setting that does not exist', () => {
    const paths = new Set(settingPaths(configSchema))
    for (const key of rows.keys()) if (key !== '') expect(paths.has(key), key).toBe(true)
  })
})

describe('README quick start', () => {
  it('names exactly the commands .ci/run and a fresh machine use', () => {
    const blocks = [...readme.matchAll(/```sh\n([^`]*?)```/g)].map((m) => m[1].trim())
    expect(blocks.slice(0, 2)).toEqual(['npm ci && npm start', 'npm ci && npm test'])
    const ci = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8')
    expect(ci.trim().split('\n').at(-1)).toBe('npm ci && npm test')
  })
})
