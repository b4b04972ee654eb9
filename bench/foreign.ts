/**
 * The foreign targets of `npm run bench`: other servers answering the same content as the gateway, measured in the
 * same interleaved runs. Each runs pinned to CPU 0 like the gateway, on a free loopback port, with its storage in
 * the run's temporary directory, and stops through procs.ts (also on error and on a signal).
 * - Verdaccio 6 (npm), installed on demand with npm into a cache folder outside the project (never into its
 *   package.json or node_modules); its storage gets the gateway's own packuments, written straight into it.
 * - docker-registry (distribution 2.8, the Debian package, installed with apt-get when missing), filesystem storage,
 *   seeded with skopeo from the OCI layout the gateway ingested, digests preserved.
 */
import { execFile, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { basename, join } from 'node:path'
import { promisify } from 'node:util'
import { dump } from 'js-yaml'
import { ensureDebianPackage } from './apt.ts'
import type { ForeignKind } from './cases.ts'
import { freePort, spawnPinned, waitReady } from './procs.ts'
import type { Seeded } from './seed.ts'
import { SERVER_CPU } from './targets.ts'

const run = promisify(execFile)

/** A running foreign server. */
export interface ForeignServer {
  /** Its row label: name and version. */
  label: string
  url: string
  pid: number
  stop(): Promise<void>
}

/** Where Verdaccio is installed: a cache folder of its own, kept between runs. */
const VERDACCIO_HOME = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'pkgway-bench', 'verdaccio')
const VERDACCIO_PACKAGE = join(VERDACCIO_HOME, 'node_modules', 'verdaccio', 'package.json')

/** verdaccioVersion is the installed Verdaccio's version, or undefined when there is none. */
function verdaccioVersion(): string | undefined {
  if (!existsSync(VERDACCIO_PACKAGE)) return undefined
  return (JSON.parse(readFileSync(VERDACCIO_PACKAGE, 'utf8')) as { version: string }).version
}

/**
 * ensureVerdaccio installs Verdaccio 6 into its cache folder unless it is there: `npm install` in a package.json of
 * its own, which overrides node-fetch to 2.7.0 (Verdaccio 6's older one fails on Node.js 20). The `npm_*`
 * variables of `npm run` are left out, so the install cannot land in the project.
 */
function ensureVerdaccio(): void {
  if (verdaccioVersion()?.startsWith('6.')) return
  process.stderr.write(`bench: installing Verdaccio 6 into ${VERDACCIO_HOME}\n`)
  mkdirSync(VERDACCIO_HOME, { recursive: true })
  const manifest = {
    name: 'pkgway-bench-verdaccio',
    private: true,
    description: 'Verdaccio for `npm run bench` of pkgway (bench/foreign.ts); safe to delete',
    dependencies: { verdaccio: '^6' },
    overrides: { 'node-fetch': '2.7.0' },
  }
  writeFileSync(join(VERDACCIO_HOME, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')))
  const args = ['install', '--prefix', VERDACCIO_HOME, '--no-audit', '--no-fund', '--ignore-scripts']
  const r = spawnSync('npm', args, { cwd: VERDACCIO_HOME, env, stdio: ['ignore', 2, 2], timeout: 600_000 })
  if (r.status !== 0 || !verdaccioVersion()?.startsWith('6.')) {
    throw new Error(`installing Verdaccio 6 into ${VERDACCIO_HOME} failed (npm install exited ${r.status})`)
  }
}

/** ensureForeign installs what the foreign targets need, before anything is seeded. */
export function ensureForeign(kinds: Set<ForeignKind>): void {
  if (kinds.has('verdaccio')) ensureVerdaccio()
  if (kinds.has('docker-registry')) {
    ensureDebianPackage('docker-registry', 'docker-registry')
    ensureDebianPackage('skopeo', 'skopeo')
  }
}

/**
 * verdaccioDocument turns a packument of the gateway into the document Verdaccio keeps in its storage
 * (`<storage>/<name>/package.json`): the same versions, dist-tags and times, tarball URLs on Verdaccio, and the
 * bookkeeping fields it expects of a package published to it.
 */
function verdaccioDocument(packument: Buffer, url: string) {
  const doc = JSON.parse(packument.toString('utf8')) as {
    name: string
    versions: Record<string, { dist: { tarball: string } }>
  }
  for (const version of Object.values(doc.versions)) {
    version.dist.tarball = `${url}/${doc.name}/-/${basename(new URL(version.dist.tarball).pathname)}`
  }
  const rev = `${Object.keys(doc.versions).length}-${randomBytes(8).toString('hex')}`
  return { ...doc, _id: doc.name, _rev: rev, readme: '', _uplinks: {}, _distfiles: {}, _attachments: {} }
}

/**
 * startVerdaccio serves the given packuments (the gateway's answers) from Verdaccio's storage: anyone may read
 * `@bench/*`, no uplinks, errors-only logs, web UI off. Tarballs are not copied: the bench never fetches them.
 */
export async function startVerdaccio(dir: string, packuments: Buffer[]): Promise<ForeignServer> {
  const home = join(dir, 'verdaccio')
  const storage = join(home, 'storage')
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  for (const packument of packuments) {
    const doc = verdaccioDocument(packument, url)
    await mkdir(join(storage, doc.name), { recursive: true })
    await writeFile(join(storage, doc.name, 'package.json'), JSON.stringify(doc, null, 2))
  }
  const config = {
    storage,
    uplinks: {},
    packages: { '@bench/*': { access: '$all', publish: '$authenticated' } },
    listen: `127.0.0.1:${port}`,
    log: { type: 'stdout', format: 'json', level: 'error' },
    web: { enable: false },
  }
  const configFile = join(home, 'config.yaml')
  await writeFile(configFile, dump(config))
  const bin = join(VERDACCIO_HOME, 'node_modules', 'verdaccio', 'bin', 'verdaccio')
  const log = join(home, 'verdaccio.log')
  const { child, stop } = spawnPinned(SERVER_CPU, process.execPath, [bin, '--config', configFile], {
    log,
    cwd: home,
    what: 'Verdaccio',
  })
  await waitReady(`${url}/-/ping`, child, `Verdaccio (log: ${log})`)
  return { label: `verdaccio ${verdaccioVersion()}`, url, pid: child.pid!, stop }
}

/** dockerRegistryVersion is the installed docker-registry's version, e.g. `2.8.2+ds1`. */
function dockerRegistryVersion(): string {
  const out = spawnSync('docker-registry', ['--version'], { encoding: 'utf8' }).stdout ?? ''
  return out.trim().split(' ').pop() || '?'
}

/**
 * startDockerRegistry starts docker-registry on filesystem storage (in-memory blob descriptor cache, errors-only
 * logs, no access log, no authentication) and pushes the gateway's OCI layout to it with skopeo, digests kept.
 */
export async function startDockerRegistry(dir: string, oci: Seeded['oci']): Promise<ForeignServer> {
  const home = join(dir, 'docker-registry')
  await mkdir(home, { recursive: true })
  const port = await freePort()
  const host = `127.0.0.1:${port}`
  const config = {
    version: 0.1,
    log: { level: 'error', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: join(home, 'storage') }, cache: { blobdescriptor: 'inmemory' } },
    http: { addr: host },
  }
  const configFile = join(home, 'config.yml')
  await writeFile(configFile, dump(config))
  // As `env -u AWS_CA_BUNDLE docker-registry serve`: the AWS SDK linked into it reads that variable, which
  // filesystem storage has no use for.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'AWS_CA_BUNDLE'))
  const log = join(home, 'docker-registry.log')
  const { child, stop } = spawnPinned(SERVER_CPU, 'docker-registry', ['serve', configFile], {
    env,
    log,
    cwd: home,
    what: 'docker-registry',
  })
  await waitReady(`http://${host}/v2/`, child, `docker-registry (log: ${log})`)
  const from = `oci:${oci.layout}:${oci.tag}`
  const to = `docker://${host}/${oci.repository}:${oci.tag}`
  await run('skopeo', ['copy', '--quiet', '--preserve-digests', '--dest-tls-verify=false', from, to], {
    timeout: 120_000,
  }).catch((err: Error & { stderr?: string }) => {
    throw new Error(`skopeo copy ${from} ${to} failed: ${err.stderr?.trim() || err.message}`)
  })
  return { label: `docker-registry ${dockerRegistryVersion()}`, url: `http://${host}`, pid: child.pid!, stop }
}
