import { dump, RubyObject } from '@hyrious/marshal'
import { deflateSync, gzipSync } from 'node:zlib'
import type { GemDependency, Gemspec } from './gemspec.ts'
import { parseGemPlatform } from './platform.ts'
import { canonicalGemVersion } from './version.ts'

/**
 * Ruby Marshal 4.8 of the RubyGems legacy index: `specs.4.8.gz` (and `latest_specs`, `prerelease_specs`), and
 * `quick/Marshal.4.8/<gem>.gemspec.rz`, which `gem install` fetches even when it reads the compact index. Values are
 * built as @hyrious/marshal objects: `Gem::Version` and `Gem::Requirement` dump through `marshal_dump` (type `U`),
 * `Gem::Specification` and `Time` through `_dump` (type `u`), `Gem::Dependency` and `Gem::Platform` as plain objects.
 * see: https://github.com/ruby/ruby/blob/master/doc/marshal.rdoc · rubygems/lib/rubygems/specification.rb `_dump`
 */

const sym = Symbol.for

/** rubyObject is an instance of a Ruby class with instance variables (`@name` → value). */
function rubyObject(className: string, ivars: Record<string, unknown>): RubyObject {
  const o = new RubyObject(sym(className)) as RubyObject & Record<symbol, unknown>
  for (const [name, value] of Object.entries(ivars)) o[sym(name)] = value
  return o
}

/** gemVersion is a `Gem::Version` (its `marshal_dump` is `[version]`). */
function gemVersion(version: string): RubyObject {
  const o = new RubyObject(sym('Gem::Version'))
  o.userMarshal = [canonicalGemVersion(version)]
  return o
}

/** gemRequirement is a `Gem::Requirement` of parts like `>= 1.0` (its `marshal_dump` is `[[[op, version]…]]`). */
function gemRequirement(parts: readonly string[]): RubyObject {
  const pairs = parts.map((part) => {
    const m = /^\s*(=|!=|>=|<=|>|<|~>)?\s*(\S+)\s*$/.exec(part)
    return m ? [m[1] ?? '=', gemVersion(m[2])] : ['>=', gemVersion('0')]
  })
  const o = new RubyObject(sym('Gem::Requirement'))
  o.userMarshal = [pairs.length ? pairs : [['>=', gemVersion('0')]]]
  return o
}

function gemDependency(d: GemDependency): RubyObject {
  const requirement = gemRequirement(d.requirements)
  return rubyObject('Gem::Dependency', {
    '@name': d.name,
    '@requirement': requirement,
    '@type': sym(d.type),
    '@prerelease': false,
    // Kept for old RubyGems, as RubyGems itself does: the same object, dumped as a link.
    '@version_requirements': requirement,
  })
}

/** utcDate is a `Time` at midnight UTC of a `YYYY-MM-DD` day, in `Time#_dump`'s 8-byte layout. */
function utcDate(day: string): RubyObject {
  const [year, month, date] = day.split('-').map(Number)
  const bytes = Buffer.alloc(8)
  // 1 (marker) · utc · year-1900 (16 bits) · month-1 (4) · day (5) · hour (5); then min · sec · usec: all 0.
  bytes.writeUInt32LE(((1 << 31) | (1 << 30) | ((year - 1900) << 14) | ((month - 1) << 10) | (date << 5)) >>> 0, 0)
  const o = new RubyObject(sym('Time'))
  o.userDefined = new Uint8Array(bytes)
  return o
}

/** newPlatform is `Gem::Specification#platform`: `"ruby"`, or a `Gem::Platform`. */
function newPlatform(platform: string): string | RubyObject {
  const p = parseGemPlatform(platform)
  return p === null ? 'ruby' : rubyObject('Gem::Platform', { '@cpu': p.cpu, '@os': p.os, '@version': p.version })
}

/**
 * marshalGemspec is `Marshal.dump(spec)` of a `Gem::Specification`: its `_dump` is the Marshal of a 19-field array
 * (rubygems version, specification version, name, version, date, summary, required ruby and rubygems versions,
 * original platform, dependencies, rubyforge project, email, authors, description, homepage, has_rdoc, platform,
 * licenses, metadata).
 */
export function marshalGemspec(spec: Gemspec, today = new Date().toISOString().slice(0, 10)): Buffer {
  const fields = [
    spec.rubygemsVersion ?? '3.3.15',
    spec.specificationVersion,
    spec.name,
    gemVersion(spec.version),
    utcDate(spec.date ?? today),
    spec.summary,
    gemRequirement(spec.requiredRubyVersion),
    gemRequirement(spec.requiredRubygemsVersion),
    spec.platform,
    spec.dependencies.map(gemDependency),
    '',
    spec.email,
    spec.authors,
    spec.description,
    spec.homepage,
    true,
    newPlatform(spec.platform),
    spec.licenses,
    { ...spec.metadata },
  ]
  const o = new RubyObject(sym('Gem::Specification'))
  o.userDefined = dump(fields)
  return Buffer.from(dump(o))
}

/** quickGemspec is the body of `quick/Marshal.4.8/<gem>.gemspec.rz`: the zlib deflate of {@link marshalGemspec}. */
export function quickGemspec(spec: Gemspec): Buffer {
  return deflateSync(marshalGemspec(spec))
}

/** One entry of a legacy specs index. */
export interface SpecTuple {
  name: string
  version: string
  /** The platform string, `ruby` for pure gems. */
  platform: string
}

/**
 * marshalSpecs is `Marshal.dump([[name, Gem::Version, platform], …])`, in the given order; specsIndex gzips it the
 * way `gem generate_index` does (no file name, mtime 0, so equal input gives equal bytes).
 */
export function marshalSpecs(tuples: readonly SpecTuple[]): Buffer {
  return Buffer.from(dump(tuples.map((t) => [t.name, gemVersion(t.version), t.platform])))
}

export function specsIndex(tuples: readonly SpecTuple[]): Buffer {
  return gzipSync(marshalSpecs(tuples))
}
