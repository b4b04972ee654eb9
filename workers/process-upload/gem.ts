import { promisify } from 'node:util'
import { gunzip } from 'node:zlib'
import { defineMappingTag, defineScalarTag, defineSequenceTag, FAILSAFE_SCHEMA, load } from 'js-yaml'
import { RejectedUpload } from './errors.ts'
import { type UploadLimits, limitReasons } from './limits.ts'
import { decodeUtf8, firstLine, MANIFEST_TYPES, type ManifestDraft } from './manifest.ts'
import { TarProbe } from './tar.ts'

/**
 * RubyGems. A `.gem` is a plain tar holding `metadata.gz` (the gzipped YAML gemspec), `data.tar.gz` and
 * `checksums.yaml.gz`. The gemspec is YAML with Ruby tags (`!ruby/object:Gem::Specification`, `Gem::Version`,
 * `Gem::Requirement`, `Gem::Dependency`); it is read with the failsafe schema (every scalar a string, so versions
 * such as `1.10` never turn into numbers) plus catch-all tags that turn any `!…` tagged node into a plain value.
 */

export const GEM_METADATA_ENTRY = 'metadata.gz'

export function gemProbe(limits: UploadLimits): TarProbe {
  return new TarProbe({ gzip: false, target: GEM_METADATA_ENTRY, archive: 'gem', limits })
}

/** GemInfo is the content of the `application/vnd.pkgway.gem-info+json` manifest. */
export interface GemInfo {
  name: string
  /** The gemspec version as RubyGems writes it, e.g. `1.0.0.pre.beta.1`. */
  version: string
  /** `ruby` for pure gems, else e.g. `x86_64-linux`, `java`. */
  platform: string
  /** Every dependency in gemspec order; `runtime` is false for development dependencies. */
  dependencies: GemDependency[]
  /** Requirement parts, e.g. `[">= 2.5"]`; `[">= 0"]` means any. */
  required_ruby_version: string[]
  required_rubygems_version: string[]
}

export interface GemDependency {
  name: string
  /** Requirement parts in gemspec order, e.g. `[">= 1.0", "< 3"]`. */
  requirements: string[]
  type: 'runtime' | 'development'
  runtime: boolean
}

type Node = Record<string, unknown>

function carrier(): Node {
  return Object.create(null) as Node
}

// Any local tag (`!ruby/object:…`, `!ruby/sym`, `!binary`, …) becomes the plain node underneath.
const anyMapping = defineMappingTag<Node>('!', {
  matchByTagPrefix: true,
  create: carrier,
  addPair: (c, key, value) => {
    Object.defineProperty(c, String(key), { value, enumerable: true, configurable: true, writable: true })
    return ''
  },
  has: (c, key) => Object.hasOwn(c, String(key)),
  keys: (r) => Object.keys(r),
  get: (r, key) => r[String(key)],
  identify: () => false,
})
const anySequence = defineSequenceTag<unknown[]>('!', {
  matchByTagPrefix: true,
  create: () => [],
  addItem: (c, item) => {
    c.push(item)
  },
  identify: () => false,
})
const anyScalar = defineScalarTag<string>('!', { matchByTagPrefix: true, resolve: (s) => s, identify: () => false })

const gemspecSchema = FAILSAFE_SCHEMA.withTags(anyMapping, anySequence, anyScalar)

const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v)
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

/** versionString reads a `Gem::Version` node (`{version: "1.0"}`) or a bare string. */
function versionString(v: unknown): string | undefined {
  if (typeof v === 'string') return v
  if (isNode(v)) return str(v.version)
  return undefined
}

/** requirementParts reads a `Gem::Requirement` node into `["op version", …]`. */
function requirementParts(v: unknown): string[] {
  const reqs = isNode(v) ? v.requirements : undefined
  if (!Array.isArray(reqs)) return ['>= 0']
  const parts: string[] = []
  for (const r of reqs) {
    if (!Array.isArray(r) || r.length < 2) continue
    const op = str(r[0])
    const ver = versionString(r[1])
    if (op && ver !== undefined) parts.push(`${op} ${ver}`)
  }
  return parts.length ? parts : ['>= 0']
}

function platformString(v: unknown): string {
  if (typeof v === 'string' && v !== '') return v
  if (isNode(v)) {
    return [str(v.cpu), str(v.os), str(v.version)].filter((p) => p !== undefined && p !== '').join('-') || 'ruby'
  }
  return 'ruby'
}

/**
 * gemSegments compares like `Gem::Version`: `-` becomes `.pre.`, the string is split into numeric and alphabetic
 * segments, and trailing zeros of the release part and of the prerelease part are dropped (so 1.0 == 1.0.0 and
 * 1.0.0-beta.1 == 1.0.0.pre.beta.1). Null when the string is no valid gem version.
 */
export function gemSegments(version: string): (number | string)[] | null {
  const s = version.trim()
  if (!/^[0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/.test(s)) return null
  const segs = (s.replace(/-/g, '.pre.').match(/[0-9]+|[a-z]+/gi) ?? []).map((x) => (/^\d+$/.test(x) ? Number(x) : x))
  const split = segs.findIndex((x) => typeof x === 'string')
  const numeric = split < 0 ? segs : segs.slice(0, split)
  const alpha = split < 0 ? [] : segs.slice(split)
  const trim = (a: (number | string)[]) => {
    while (a.length > 0 && a[a.length - 1] === 0) a.pop()
    return a
  }
  return [...trim(numeric), ...trim(alpha)]
}

export function gemVersionsEqual(a: string, b: string): boolean {
  const x = gemSegments(a)
  const y = gemSegments(b)
  return x !== null && y !== null && x.length === y.length && x.every((s, i) => s === y[i])
}

const gunzipAsync = promisify(gunzip)

/**
 * gemManifests turns the gem's `metadata.gz` into its two manifests, after checking that the gemspec names the
 * package and the release version.
 */
export async function gemManifests(
  metadataGz: Buffer,
  expect: { packageKey: string; releaseVersion: string },
  limits: UploadLimits,
): Promise<ManifestDraft[]> {
  let raw: Buffer
  try {
    raw = await gunzipAsync(metadataGz, { maxOutputLength: limits.maxManifestBytes })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new RejectedUpload(limitReasons.manifest('the gemspec (metadata.gz)', limits))
    }
    throw new RejectedUpload(`metadata.gz of the gem is not valid gzip: ${firstLine((err as Error).message)}`)
  }
  const yaml = decodeUtf8(raw, 'the gemspec (metadata.gz)')
  let doc: unknown
  try {
    doc = load(yaml.replace(/^\uFEFF/, ''), { schema: gemspecSchema, maxAliases: 100, maxDepth: 50 })
  } catch (err) {
    throw new RejectedUpload(`the gemspec is not valid YAML: ${firstLine((err as Error).message)}`)
  }
  if (!isNode(doc)) throw new RejectedUpload('the gemspec is not a Gem::Specification')
  const name = str(doc.name)
  if (!name) throw new RejectedUpload('the gemspec has no name')
  if (name !== expect.packageKey) {
    throw new RejectedUpload(`gem name mismatch: the gemspec names ${name}, the package key is ${expect.packageKey}`)
  }
  const version = versionString(doc.version)
  if (!version) throw new RejectedUpload('the gemspec has no version')
  if (!gemVersionsEqual(version, expect.releaseVersion)) {
    throw new RejectedUpload(
      `gem version mismatch: the gemspec version is ${version}, the release version is ${expect.releaseVersion}`,
    )
  }
  const dependencies: GemDependency[] = []
  for (const d of Array.isArray(doc.dependencies) ? doc.dependencies : []) {
    if (!isNode(d) || !str(d.name)) continue
    const type = str(d.type)?.replace(/^:/, '') === 'development' ? 'development' : 'runtime'
    dependencies.push({
      name: str(d.name)!,
      requirements: requirementParts(d.requirement ?? d.version_requirements),
      type,
      runtime: type === 'runtime',
    })
  }
  const info: GemInfo = {
    name,
    version,
    platform: platformString(doc.platform),
    dependencies,
    required_ruby_version: requirementParts(doc.required_ruby_version),
    required_rubygems_version: requirementParts(doc.required_rubygems_version),
  }
  return [
    { contentType: MANIFEST_TYPES.gemspec, contentPath: GEM_METADATA_ENTRY, content: yaml },
    { contentType: MANIFEST_TYPES.gemInfo, contentPath: GEM_METADATA_ENTRY, content: JSON.stringify(info) },
  ]
}
