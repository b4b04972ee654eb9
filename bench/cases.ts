/**
 * What `npm run bench` measures. Each warm case is one request, repeated by wrk against the gateway and against
 * the reference (bench/reference.ts), which replays the gateway's own answer to that request from memory, and for a
 * few cases also against a foreign server holding the same content (Verdaccio, docker-registry: bench/foreign.ts).
 * Add a row by adding an entry (and, if it needs new catalog content, a few lines in bench/seed.ts).
 */
import { createHash } from 'node:crypto'
import { SKOPEO_ACCEPT } from '../test/engines/oci/fixtures.ts'
import type { Answer } from './http.ts'
import type { Seeded } from './seed.ts'

/** Release counts of the seeded PyPI projects (`bench-20`, `bench-500`). */
export const PAGE_SIZES = [20, 500] as const

/** What the reference answers for a case, and the label of its row. */
export type ReferenceKind = 'fixed redirect' | 'same bytes' | '304'

export interface BenchCase {
  name: string
  /** Path (and query) requested from both targets. */
  path: (s: Seeded) => string
  /** Request headers (both targets). */
  headers: (s: Seeded) => Record<string, string>
  /** The status the gateway must answer; anything else stops the run before measuring. */
  status: number
  reference: ReferenceKind
  /** Also send `If-None-Match` with the ETag the gateway answers to the same request without it. */
  revalidate?: boolean
  /** Also measure another server answering the same content (bench/foreign.ts), interleaved with the two. */
  foreign?: ForeignComparison
}

/** The other servers the bench can compare with, started only when a selected case names one. */
export type ForeignKind = 'verdaccio' | 'docker-registry'

/** The same content requested from a foreign server: its own path and headers, and how to check its answer. */
export interface ForeignComparison {
  target: ForeignKind
  path: (s: Seeded) => string
  headers: (s: Seeded) => Record<string, string>
  status: number
  /** Why the foreign answer is not the same content as the gateway's, or undefined when it is. */
  differs: (foreign: Answer, gateway: Answer, s: Seeded) => string | undefined
}

/** A cold case: publish a draft release through the management API, then time the first request of path. */
export interface ColdCase {
  name: string
  path: (s: Seeded) => string
  headers: (s: Seeded) => Record<string, string>
  status: number
  /** Which pool of seeded drafts to publish from (a page size, or `raw`). */
  pool: string
  /** The answer must differ from the one before the publish (the published release shows on it). */
  changes?: boolean
}

/** licenseAuth is what pip and curl send for `license:KEY` credentials. */
export const licenseAuth = (s: Seeded): Record<string, string> => ({
  authorization: `Basic ${Buffer.from(`license:${s.licenseKey}`).toString('base64')}`,
})

/** licenseScheme is the `Authorization: License <key>` a Tauri app's updater sends (Keygen's documented way). */
const licenseScheme = (s: Seeded): Record<string, string> => ({ authorization: `License ${s.licenseKey}` })

const json = (headers: (s: Seeded) => Record<string, string>) => (s: Seeded) => ({
  ...headers(s),
  accept: 'application/json',
})

/** The answer's version list is the gateway's (Verdaccio rewrites tarball URLs and adds fields of its own). */
function sameVersions(foreign: Answer, gateway: Answer): string | undefined {
  const versions = (a: Answer) => Object.keys((JSON.parse(a.body.toString('utf8')) as { versions: object }).versions)
  const [f, g] = [versions(foreign), versions(gateway)]
  return f.join() === g.join() ? undefined : `${f.length} versions, the gateway ${g.length}`
}

/** The answer is the gateway's, byte for byte (docker-registry seeded with --preserve-digests). */
const sameBytes = (foreign: Answer, gateway: Answer) =>
  foreign.body.equals(gateway.body) ? undefined : `other bytes than the gateway's (${foreign.body.length} bytes)`

/** The answer is the blob of the requested digest (the gateway redirects to it; docker-registry serves it). */
function theBlob(foreign: Answer, _gateway: Answer, s: Seeded): string | undefined {
  const digest = `sha256:${createHash('sha256').update(foreign.body).digest('hex')}`
  return digest === s.oci.layer ? undefined : `a blob of digest ${digest}, not ${s.oci.layer}`
}

const rawPath = (s: Seeded) => `/v1/engines/raw/${s.productCode}/${s.raw.version}/${s.raw.filename}`
const artifactPath = (s: Seeded) => `/v1/artifacts/${s.raw.artifactId}/${s.raw.filename}`
const pagePath = (size: number) => (s: Seeded) => `/v1/engines/pypi/simple/${s.projects[size]}/`
/** npm's own spelling of a scoped name in a packument URL. */
const packumentPath = (name: string) => `/v1/engines/npm/${name.replace('/', '%2f')}`
const smallPackument = (s: Seeded) => packumentPath(s.npm.small)
const ociHeaders = (s: Seeded) => ({ ...licenseAuth(s), accept: SKOPEO_ACCEPT })

/** Verdaccio serves `@bench/small` to anyone (the bench's config), so it is asked without credentials. */
const verdaccioSmall: ForeignComparison = {
  target: 'verdaccio',
  path: (s) => `/${s.npm.small.replace('/', '%2f')}`,
  headers: () => ({ accept: 'application/json' }),
  status: 200,
  differs: sameVersions,
}

export const CASES: BenchCase[] = [
  { name: 'Raw 303, Basic license:KEY', path: rawPath, headers: licenseAuth, status: 303, reference: 'fixed redirect' },
  {
    name: '/v1/artifacts/:id/<file> 303, license',
    path: artifactPath,
    headers: licenseAuth,
    status: 303,
    reference: 'fixed redirect',
  },
  ...PAGE_SIZES.flatMap((size): BenchCase[] => [
    {
      name: `PyPI page, ${size} releases, license`,
      path: pagePath(size),
      headers: licenseAuth,
      status: 200,
      reference: 'same bytes',
    },
    {
      name: `PyPI page, ${size} releases, 304`,
      path: pagePath(size),
      headers: licenseAuth,
      status: 304,
      reference: '304',
      revalidate: true,
    },
  ]),
  {
    name: 'npm packument, 20 versions, license',
    path: smallPackument,
    headers: json(licenseAuth),
    status: 200,
    reference: 'same bytes',
    foreign: verdaccioSmall,
  },
  {
    name: 'npm packument, 20 versions, 304',
    path: smallPackument,
    headers: json(licenseAuth),
    status: 304,
    reference: '304',
    revalidate: true,
  },
  {
    name: 'npm packument, 300 versions (~2 MB), license',
    path: (s) => packumentPath(s.npm.big),
    headers: json(licenseAuth),
    status: 200,
    reference: 'same bytes',
  },
  {
    name: 'RubyGems info/<gem>, 20 releases, license',
    path: (s) => `/v1/engines/rubygems/info/${s.gem}`,
    headers: licenseAuth,
    status: 200,
    reference: 'same bytes',
  },
  {
    name: 'OCI manifest by tag, license',
    path: (s) => `/v2/${s.oci.repository}/manifests/${s.oci.tag}`,
    headers: ociHeaders,
    status: 200,
    reference: 'same bytes',
    foreign: {
      target: 'docker-registry',
      path: (s) => `/v2/${s.oci.repository}/manifests/${s.oci.tag}`,
      headers: () => ({ accept: SKOPEO_ACCEPT }),
      status: 200,
      differs: sameBytes,
    },
  },
  {
    name: 'OCI layer blob 307, license',
    path: (s) => `/v2/${s.oci.repository}/blobs/${s.oci.layer}`,
    headers: licenseAuth,
    status: 307,
    reference: 'fixed redirect',
    foreign: {
      target: 'docker-registry',
      path: (s) => `/v2/${s.oci.repository}/blobs/${s.oci.layer}`,
      headers: () => ({}),
      status: 200,
      differs: theBlob,
    },
  },
  {
    name: 'Tauri update check, License <key>',
    path: (s) => `/v1/engines/tauri/${s.tauri.package}?platform=linux&arch=x86_64&version=${s.tauri.current}`,
    headers: json(licenseScheme),
    status: 200,
    reference: 'same bytes',
  },
]

export const COLD_CASES: ColdCase[] = [
  { name: 'Raw 303 after a publish', path: rawPath, headers: licenseAuth, status: 303, pool: 'raw' },
  { name: '/v1/artifacts 303 after a publish', path: artifactPath, headers: licenseAuth, status: 303, pool: 'raw' },
  ...PAGE_SIZES.map((size) => ({
    name: `PyPI page, ${size} releases, after a publish to it`,
    path: pagePath(size),
    headers: licenseAuth,
    status: 200,
    pool: String(size),
    changes: true,
  })),
]
