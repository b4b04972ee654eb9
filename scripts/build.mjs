// Compiles the TypeScript sources into dist/ (`npm run build`; also the `prepare` step of every `npm ci` and
// `npm install`, production installs included). The CLI entry and its lazily imported modules become ES modules
// that plain Node runs without a loader; dependencies stay external and load from node_modules. bin/pkgway.js
// runs this bundle whenever it is at least as new as the sources.
import { rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = fileURLToPath(new URL('..', import.meta.url))
const outdir = `${root}dist`

await rm(outdir, { recursive: true, force: true })
await build({
  absWorkingDir: root,
  entryPoints: ['cli/main.ts'],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
})
