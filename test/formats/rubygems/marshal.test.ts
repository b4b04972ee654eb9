import { spawnSync } from 'node:child_process'
import { gunzipSync, inflateSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import type { Gemspec } from '../../../formats/rubygems/gemspec.ts'
import { marshalGemspec, marshalSpecs, quickGemspec, specsIndex } from '../../../formats/rubygems/marshal.ts'
import { gemPlatformString, parseGemPlatform } from '../../../formats/rubygems/platform.ts'

const hasRuby = spawnSync('ruby', ['-e', 'require "rubygems"'], { stdio: 'ignore' }).status === 0
if (!hasRuby) console.warn('Marshal tests: the checks in real Ruby are skipped: `ruby` is not installed')

/** ruby runs a script with the bytes on stdin and returns its stdout (it fails the test on a Ruby error). */
function ruby(script: string, input: Buffer): string {
  const out = spawnSync('ruby', ['-e', script], { input, encoding: 'utf8' })
  if (out.status !== 0) throw new Error(`ruby failed: ${out.stderr}`)
  return out.stdout
}

const SPEC: Gemspec = {
  name: 'demo',
  version: '1.0.0',
  platform: 'ruby',
  summary: 'tiny',
  description: null,
  email: null,
  authors: ['lab'],
  homepage: null,
  licenses: ['MIT'],
  metadata: {},
  date: '2024-10-22',
  rubygemsVersion: '3.3.15',
  specificationVersion: 4,
  dependencies: [{ name: 'rack', requirements: ['>= 1.0'], type: 'runtime', runtime: true }],
  requiredRubyVersion: ['>= 0'],
  requiredRubygemsVersion: ['>= 0'],
}

describe('Ruby Marshal 4.8 of the legacy index', () => {
  it('dumps a specs array exactly as Ruby does', () => {
    // Ruby: Marshal.dump([["foo", Gem::Version.new("1.0.0"), "ruby"]])
    expect(marshalSpecs([{ name: 'foo', version: '1.0.0', platform: 'ruby' }]).toString('hex')).toBe(
      '04085b065b08492208666f6f063a064554553a1147656d3a3a56657273696f6e5b0649220a312e302e30063b005449220972756279063b0054',
    )
    expect(marshalSpecs([]).toString('hex')).toBe('04085b00')
  })

  it('writes `-` prereleases as RubyGems stores them (`.pre.`)', () => {
    expect(marshalSpecs([{ name: 'b', version: '1.0.0-beta.1', platform: 'ruby' }]).toString('latin1')).toContain(
      '1.0.0.pre.beta.1',
    )
  })

  it('dumps a Gem::Specification as `_dump` does (19 fields), byte for byte', () => {
    expect(marshalGemspec(SPEC).toString('hex')).toBe(
      '0408753a1747656d3a3a53706563696669636174696f6e02500104085b1849220b332e332e3135063a064554690949220964656d6f063b0054553a1147656d3a3a56657273696f6e5b0649220a312e302e30063b0054753a0954696d650dc0261fc00000000049220974696e79063b0054553a1547656d3a3a526571756972656d656e745b065b065b074922073e3d063b0054553b065b0649220630063b0054553b085b065b065b074011553b065b06401449220972756279063b00545b066f3a1447656d3a3a446570656e64656e63790a3a0a406e616d654922097261636b063b00543a1140726571756972656d656e74553b085b065b065b074011553b065b06492208312e30063b00543a0a40747970653a0c72756e74696d653a104070726572656c65617365463a1a4076657273696f6e5f726571756972656d656e7473401f492200063b0054305b064922086c6162063b0054303054401b5b064922084d4954063b00547b00',
    )
  })

  it('gzips specs deterministically (mtime 0) and deflates quick gemspecs', () => {
    const tuples = [{ name: 'foo', version: '1.0.0', platform: 'ruby' }]
    expect(specsIndex(tuples).equals(specsIndex(tuples))).toBe(true)
    expect(specsIndex(tuples).readUInt32LE(4)).toBe(0)
    expect(gunzipSync(specsIndex(tuples)).equals(marshalSpecs(tuples))).toBe(true)
    expect(inflateSync(quickGemspec(SPEC)).equals(marshalGemspec(SPEC))).toBe(true)
  })

  it.skipIf(!hasRuby)('specs load in real Ruby as [name, Gem::Version, platform] tuples', () => {
    const bytes = specsIndex([
      { name: 'baz', version: '2.0.0', platform: 'ruby' },
      { name: 'foo', version: '1.1.0', platform: 'java' },
      { name: 'bar', version: '1.0.0-beta.1', platform: 'ruby' },
    ])
    const script =
      'require "rubygems"; require "zlib"; a = Marshal.load(Zlib.gunzip($stdin.binmode.read)); ' +
      'puts a.map { |n, v, p| [n, v.class, v.to_s, v.prerelease?, p].join(" ") }'
    expect(ruby(script, bytes).trim().split('\n')).toEqual([
      'baz Gem::Version 2.0.0 false ruby',
      'foo Gem::Version 1.1.0 false java',
      'bar Gem::Version 1.0.0.pre.beta.1 true ruby',
    ])
  })

  it.skipIf(!hasRuby)('quick gemspecs load in real Ruby as a Gem::Specification equal to the original', () => {
    const spec: Gemspec = {
      ...SPEC,
      version: '2.1.0',
      platform: 'x86_64-linux',
      email: ['dev@example.com'],
      homepage: 'https://example.com',
      description: 'a longer text',
      metadata: { source_code_uri: 'https://example.com/src' },
      requiredRubyVersion: ['>= 2.7'],
      dependencies: [
        { name: 'rack', requirements: ['>= 1.0', '< 3'], type: 'runtime', runtime: true },
        { name: 'rspec', requirements: ['~> 3.0'], type: 'development', runtime: false },
      ],
    }
    const script = [
      'require "rubygems"; require "zlib"',
      's = Marshal.load(Zlib::Inflate.inflate($stdin.binmode.read))',
      'puts s.class, s.full_name, s.date.utc.strftime("%F %T %Z"), s.platform.class, s.platform.to_s',
      'puts s.dependencies.map { |d| [d.name, d.type, d.requirement.to_s].join(" ") }',
      'puts s.required_ruby_version.to_s, s.email.inspect, s.homepage, s.metadata.inspect, s.summary',
    ].join('\n')
    expect(ruby(script, quickGemspec(spec)).trim().split('\n')).toEqual([
      'Gem::Specification',
      'demo-2.1.0-x86_64-linux',
      '2024-10-22 00:00:00 UTC',
      'Gem::Platform',
      'x86_64-linux',
      'rack runtime >= 1.0, < 3',
      'rspec development ~> 3.0',
      '>= 2.7',
      '["dev@example.com"]',
      'https://example.com',
      '{"source_code_uri"=>"https://example.com/src"}',
      'tiny',
    ])
  })
})

describe('Gem::Platform', () => {
  it('parses platform strings as RubyGems does', () => {
    expect(parseGemPlatform('ruby')).toBeNull()
    expect(parseGemPlatform('x86_64-linux')).toEqual({ cpu: 'x86_64', os: 'linux', version: null })
    expect(parseGemPlatform('i686-linux')).toEqual({ cpu: 'x86', os: 'linux', version: null })
    expect(parseGemPlatform('x86-linux-gnu')).toEqual({ cpu: 'x86', os: 'linux', version: null })
    expect(parseGemPlatform('universal-darwin-22')).toEqual({ cpu: 'universal', os: 'darwin', version: '22' })
    expect(parseGemPlatform('x64-mingw-ucrt')).toEqual({ cpu: 'x64', os: 'mingw', version: 'ucrt' })
    expect(parseGemPlatform('jruby')).toEqual({ cpu: null, os: 'java', version: null })
    expect(gemPlatformString('jruby')).toBe('java')
    expect(gemPlatformString('java')).toBe('java')
    expect(gemPlatformString('arm64-darwin')).toBe('arm64-darwin')
  })
})
