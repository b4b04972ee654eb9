import { defineMappingTag, defineScalarTag, defineSequenceTag, FAILSAFE_SCHEMA, load } from 'js-yaml'

/**
 * The gemspec of a `.gem` (its `metadata.gz`): YAML with Ruby tags (`!ruby/object:Gem::Specification`,
 * `Gem::Version`, `Gem::Requirement`, `Gem::Dependency`). It is read with the failsafe schema (every scalar a string,
 * so versions such as `1.10` never turn into numbers) plus catch-all tags that turn any `!…` tagged node into a plain
 * value. The upload worker reads it on ingest, the RubyGems engine when it renders `quick/Marshal.4.8`.
 */

/** A dependency as the gemspec declares it. */
export interface GemDependency {
  name: string
  /** Requirement parts in gemspec order, e.g. `[">= 1.0", "< 3"]`. */
  requirements: string[]
  type: 'runtime' | 'development'
  runtime: boolean
}

/** What pkgway reads out of a gemspec. */
export interface Gemspec {
  name: string
  /** As written, e.g. `1.0.0.pre.beta.1`. */
  version: string
  /** The platform string as written (`ruby`, `java`, `x86_64-linux`…). */
  platform: string
  summary: string | null
  description: string | null
  /** A string or a list, as the author wrote it. */
  email: string | string[] | null
  authors: string[]
  homepage: string | null
  licenses: string[]
  metadata: Record<string, string>
  /** `YYYY-MM-DD`, or null. */
  date: string | null
  rubygemsVersion: string | null
  specificationVersion: number
  dependencies: GemDependency[]
  /** Requirement parts; `[">= 0"]` means any. */
  requiredRubyVersion: string[]
  requiredRubygemsVersion: string[]
}

/** GemspecError says why a gemspec cannot be read; its message is one line. */
export class GemspecError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'GemspecError'
  }
}

type Node = Record<string, unknown>

// Any local tag (`!ruby/object:…`, `!ruby/sym`, `!binary`, …) becomes the plain node underneath.
const anyMapping = defineMappingTag<Node>('!', {
  matchByTagPrefix: true,
  create: () => Object.create(null) as Node,
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
const strOrNull = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null)
const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : []

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

function dependenciesOf(v: unknown): GemDependency[] {
  const out: GemDependency[] = []
  for (const d of Array.isArray(v) ? v : []) {
    const name = isNode(d) ? str(d.name) : undefined
    if (!isNode(d) || !name) continue
    const type = str(d.type)?.replace(/^:/, '') === 'development' ? 'development' : 'runtime'
    out.push({
      name,
      requirements: requirementParts(d.requirement ?? d.version_requirements),
      type,
      runtime: type === 'runtime',
    })
  }
  return out
}

function metadataOf(v: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  if (isNode(v)) for (const [k, value] of Object.entries(v)) if (typeof value === 'string') out[k] = value
  return out
}

/** readGemspec parses a YAML gemspec; it throws {@link GemspecError} when it is no `Gem::Specification`. */
export function readGemspec(yaml: string): Gemspec {
  let doc: unknown
  try {
    doc = load(yaml.replace(/^\uFEFF/, ''), { schema: gemspecSchema, maxAliases: 100, maxDepth: 50 })
  } catch (err) {
    throw new GemspecError(`the gemspec is not valid YAML: ${(err as Error).message.split('\n')[0].trim()}`)
  }
  if (!isNode(doc)) throw new GemspecError('the gemspec is not a Gem::Specification')
  const name = str(doc.name)
  if (!name) throw new GemspecError('the gemspec has no name')
  const version = versionString(doc.version)
  if (!version) throw new GemspecError('the gemspec has no version')
  const date = /^(\d{4}-\d{2}-\d{2})/.exec(str(doc.date) ?? '')?.[1] ?? null
  const specVersion = Number(str(doc.specification_version))
  return {
    name,
    version,
    platform: platformString(doc.platform),
    summary: strOrNull(doc.summary),
    description: strOrNull(doc.description),
    email: Array.isArray(doc.email) ? strings(doc.email) : strOrNull(doc.email),
    authors: strings(doc.authors),
    homepage: strOrNull(doc.homepage),
    licenses: strings(doc.licenses),
    metadata: metadataOf(doc.metadata),
    date,
    rubygemsVersion: strOrNull(doc.rubygems_version),
    specificationVersion: Number.isInteger(specVersion) && specVersion > 0 ? specVersion : 4,
    dependencies: dependenciesOf(doc.dependencies),
    requiredRubyVersion: requirementParts(doc.required_ruby_version),
    requiredRubygemsVersion: requirementParts(doc.required_rubygems_version),
  }
}

/** GemInfo is what the compact index needs of a gem: the content of the `gem-info+json` manifest. */
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

/** gemInfoOf is the compact-index view of a gemspec. */
export function gemInfoOf(spec: Gemspec): GemInfo {
  return {
    name: spec.name,
    version: spec.version,
    platform: spec.platform,
    dependencies: spec.dependencies,
    required_ruby_version: spec.requiredRubyVersion,
    required_rubygems_version: spec.requiredRubygemsVersion,
  }
}
