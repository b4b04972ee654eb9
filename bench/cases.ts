/**
 * What `npm run bench` measures. Each warm case is one request, repeated by wrk against the gateway and against
 * the reference (bench/reference.ts), which replays the gateway's own answer to that request from memory. Add a row
 * by adding an entry (and, if it needs new catalog content, a few lines in bench/seed.ts).
 */
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

const rawPath = (s: Seeded) => `/v1/engines/raw/${s.productCode}/${s.raw.version}/${s.raw.filename}`
const artifactPath = (s: Seeded) => `/v1/artifacts/${s.raw.artifactId}/${s.raw.filename}`
const pagePath = (size: number) => (s: Seeded) => `/v1/engines/pypi/simple/${s.projects[size]}/`

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
