/**
 * RubyGems platforms (`Gem::Platform`): a gemspec's platform string as cpu, os and version, so that `jruby`
 * reads as `java` and `i686-linux` as `x86-linux`, exactly as RubyGems itself parses them.
 * see: https://github.com/rubygems/rubygems/blob/master/lib/rubygems/platform.rb `initialize`
 */

/** A parsed `Gem::Platform`; `ruby` (pure Ruby gems) has none. */
export interface GemPlatform {
  cpu: string | null
  os: string
  version: string | null
}

/** OS patterns in RubyGems' order; each maps the match to [os, version]. */
const OS_RULES: Array<[RegExp, (m: RegExpExecArray) => [string, string | null]]> = [
  [/aix(\d+)?/, (m) => ['aix', m[1] ?? null]],
  [/cygwin/, () => ['cygwin', null]],
  [/darwin(\d+)?/, (m) => ['darwin', m[1] ?? null]],
  [/^macruby$/, () => ['macruby', null]],
  [/freebsd(\d+)?/, (m) => ['freebsd', m[1] ?? null]],
  [/hpux(\d+)?/, (m) => ['hpux', m[1] ?? null]],
  [/^java$|^jruby$/, () => ['java', null]],
  [/^java([\d.]*)/, (m) => ['java', m[1]]],
  [/^dalvik(\d+)?$/, (m) => ['dalvik', m[1] ?? null]],
  [/^dotnet$/, () => ['dotnet', null]],
  [/^dotnet([\d.]*)/, (m) => ['dotnet', m[1]]],
  [/linux-?((?!gnu)\w+)?/, (m) => ['linux', m[1] ?? null]],
  [/mingw32/, () => ['mingw32', null]],
  [/mingw-?(\w+)?/, (m) => ['mingw', m[1] ?? null]],
  [/(mswin\d+)(_(\d+))?/, (m) => [m[1], m[3] ?? null]],
  [/netbsdelf/, () => ['netbsdelf', null]],
  [/openbsd(\d+\.\d+)?/, (m) => ['openbsd', m[1] ?? null]],
  [/bitrig(\d+\.\d+)?/, (m) => ['bitrig', m[1] ?? null]],
  [/solaris(\d+\.\d+)?/, (m) => ['solaris', m[1] ?? null]],
  [/^(\w+_platform)(\d+)?/, (m) => [m[1], m[2] ?? null]],
]

/** parseGemPlatform reads a platform string like `Gem::Platform.new`; null for `ruby` (or nothing). */
export function parseGemPlatform(platform: string): GemPlatform | null {
  const text = platform.trim()
  if (text === '' || text === 'ruby') return null
  const arch = text.split('-')
  if (arch.length > 2 && !/\d/.test(arch[arch.length - 1])) {
    const extra = arch.pop()
    arch[arch.length - 1] += `-${extra}` // reassemble x86-linux-gnu
  }
  const first = arch.shift() as string
  let cpu: string | null = /i\d86/.test(first) ? 'x86' : first
  if (arch.length === 2 && /^\d+(\.\d+)?$/.test(arch[1])) return { cpu, os: arch[0], version: arch[1] }
  let os = arch[0]
  if (os === undefined) {
    cpu = null // legacy jruby
    os = first
  }
  for (const [pattern, read] of OS_RULES) {
    const m = pattern.exec(os)
    if (!m) continue
    const [name, version] = read(m)
    if (cpu === null && /^mswin\d*32$/.test(name)) cpu = 'x86'
    return { cpu, os: name, version }
  }
  return { cpu, os: 'unknown', version: null }
}

/** gemPlatformString is `Gem::Platform#to_s`: the parts joined by `-`, or `ruby`. */
export function gemPlatformString(platform: string): string {
  const p = parseGemPlatform(platform)
  return p === null ? 'ruby' : [p.cpu, p.os, p.version].filter((x) => x !== null && x !== '').join('-')
}
