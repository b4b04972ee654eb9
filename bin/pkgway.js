#!/usr/bin/env node
// Runs the compiled bundle in dist/ (built by `npm ci` / `npm install` through the prepare script, or by
// `npm run build`) when it is at least as new as every source file: plain Node, no loader, fast to start. In a
// checkout whose sources changed since, it runs the TypeScript sources through tsx (a devDependency) instead.
import { existsSync, readdirSync, statSync } from 'node:fs'

const root = new URL('../', import.meta.url)
const bundle = new URL('dist/main.js', root)
const SOURCES = ['cli', 'config', 'gateway', 'workers', 'formats']

/** newestSource is the latest modification time of a .ts file under dir (0 when there is none). */
function newestSource(dir) {
  let newest = 0
  let entries
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch {
    return 0
  }
  for (const entry of entries) {
    const path = new URL(entry.isDirectory() ? `${entry.name}/` : entry.name, dir)
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path))
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs)
  }
  return newest
}

const built = existsSync(bundle) ? statSync(bundle).mtimeMs : -1
const sources = Math.max(...SOURCES.map((dir) => newestSource(new URL(`${dir}/`, root))))

if (built >= sources) {
  process.setSourceMapsEnabled(true)
  await import(bundle.href)
} else {
  let tsx
  try {
    tsx = await import('tsx/esm/api')
  } catch {
    process.stderr.write('pkgway: dist/ is missing or older than the sources; run npm run build\n')
    process.exit(1)
  }
  tsx.register()
  await import('../cli/main.ts')
}
