import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** sourceFiles lists the .ts files under a folder of the repository, as repository-relative paths. */
function sourceFiles(folder: string): string[] {
  const out: string[] = []
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith('.ts')) out.push(relative(ROOT, path))
    }
  }
  walk(join(ROOT, folder))
  return out
}

/** importsOf resolves the relative module specifiers of a file (static and dynamic imports, re-exports). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8')
  const specifiers = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)['"](\.[^'"]+)['"]/g)].map(
    (m) => m[1],
  )
  return specifiers.map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)))
}

/** violations lists `file → import` pairs where a file under `from` imports something under `to`. */
function violations(from: string, to: string): string[] {
  return sourceFiles(from).flatMap((file) =>
    importsOf(file)
      .filter((target) => target === to || target.startsWith(`${to}/`))
      .map((target) => `${file} → ${target}`),
  )
}

/** A kysely statement: a query builder's entry point, or a raw `sql` template or helper. */
const SQL =
  /\.(selectFrom|insertInto|updateTable|deleteFrom|replaceInto|mergeInto)\(|\bsql(\.raw)?`|\bsql\.(raw|ref|table|id|lit|join)\(/

/** sqlLines lists the `file:line` places of a file that contain a kysely statement. */
function sqlLines(file: string): string[] {
  return readFileSync(join(ROOT, file), 'utf8')
    .split('\n')
    .flatMap((line, i) => (SQL.test(line) ? [`${file}:${i + 1}`] : []))
}

describe('import rules (../shared/design.md "Import rules")', () => {
  it('finds imports the way the rules need (self-check)', () => {
    expect(importsOf('gateway/engines/raw/routes.ts')).toContain('gateway/read-model/lookup.ts')
  })

  it('engines never import gateway/api/', () => {
    expect(violations('gateway/engines', 'gateway/api')).toEqual([])
  })

  it('workers never import engines', () => {
    expect(violations('workers', 'gateway/engines')).toEqual([])
  })

  it('package-format code never imports the gateway, workers or the CLI', () => {
    for (const layer of ['gateway', 'workers', 'cli']) expect(violations('formats', layer)).toEqual([])
  })

  it('finds SQL the way the rule needs (self-check)', () => {
    expect(sqlLines('gateway/catalog/tokens.ts').length).toBeGreaterThan(0)
    expect(sqlLines('gateway/catalog/accounts.ts').length).toBeGreaterThan(0)
  })

  it('SQL lives in gateway/catalog/ only', () => {
    const outside = ['gateway', 'workers', 'cli', 'formats']
      .flatMap(sourceFiles)
      .filter((file) => !file.startsWith('gateway/catalog/'))
    expect(outside.length).toBeGreaterThan(0)
    expect(outside.flatMap(sqlLines)).toEqual([])
  })

  it('one function chooses release upgrades, for the upgrade API and the Tauri engine', () => {
    const choosers = sourceFiles('gateway').filter((f) => importsOf(f).includes('gateway/read-model/select-upgrade.ts'))
    expect(choosers).toEqual(expect.arrayContaining(['gateway/api/upgrade.ts', 'gateway/engines/tauri/offers.ts']))
    expect(importsOf('gateway/api/upgrade.ts')).not.toContain('gateway/catalog/versions.ts')
  })

  it('the read model never imports the API or an engine', () => {
    expect(violations('gateway/read-model', 'gateway/api')).toEqual([])
    expect(violations('gateway/read-model', 'gateway/engines')).toEqual([])
  })
})
