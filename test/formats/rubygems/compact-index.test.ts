import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  gemIndex,
  infoLine,
  type IndexedGem,
  renderNames,
  renderVersions,
  versionToken,
} from '../../../formats/rubygems/compact-index.ts'
import { readGemspec } from '../../../formats/rubygems/gemspec.ts'
import { compareGemVersions } from '../../../formats/rubygems/version.ts'

const md5 = (s: string) => createHash('md5').update(s).digest('hex')
const SHA = 'ab'.repeat(32)

function gem(version: string, extra: Partial<IndexedGem['info']> = {}, sha256: string | null = SHA): IndexedGem {
  return {
    info: {
      name: 'demo',
      version,
      platform: 'ruby',
      dependencies: [],
      required_ruby_version: ['>= 0'],
      required_rubygems_version: ['>= 0'],
      ...extra,
    },
    sha256,
  }
}

describe('compact index', () => {
  it('writes info lines: runtime deps (parts sorted, joined with &), checksum, ruby and rubygems requirements', () => {
    expect(infoLine(gem('1.0.0'))).toBe(`1.0.0 |checksum:${SHA}`)
    expect(infoLine(gem('2.0.0', {}, null))).toBe('2.0.0 |checksum:')
    expect(
      infoLine(
        gem('1.1.0', {
          platform: 'jruby',
          dependencies: [
            { name: 'demo_gem', requirements: ['>= 1.0', '< 2'], type: 'runtime', runtime: true },
            { name: 'rspec', requirements: ['~> 3.0'], type: 'development', runtime: false },
            { name: 'rack', requirements: ['>= 0'], type: 'runtime', runtime: true },
          ],
          required_ruby_version: ['>= 2.7', '< 4'],
          required_rubygems_version: ['> 1.3.1'],
        }),
      ),
    ).toBe(`1.1.0-java demo_gem:< 2&>= 1.0,rack:>= 0|checksum:${SHA},ruby:< 4&>= 2.7,rubygems:> 1.3.1`)
  })

  it('names versions with their normalized platform', () => {
    expect(versionToken({ version: '1.0.0', platform: 'ruby' })).toBe('1.0.0')
    expect(versionToken({ version: '1.0.0', platform: 'x86_64-linux' })).toBe('1.0.0-x86_64-linux')
    expect(versionToken({ version: '1.0.0.pre.beta.1', platform: 'ruby' })).toBe('1.0.0.pre.beta.1')
  })

  it('renders info/<gem> in publication order, with the MD5 of every prefix for the versions file', () => {
    const index = gemIndex('demo', [gem('1.0.0'), gem('0.9.1')])
    const first = `---\n1.0.0 |checksum:${SHA}\n`
    expect(index.info).toBe(`${first}0.9.1 |checksum:${SHA}\n`)
    expect(index.versionLines).toEqual([`demo 1.0.0 ${md5(first)}`, `demo 0.9.1 ${md5(index.info)}`])
  })

  it('renders versions append-only: the oldest publication dates the header, a new version adds a line', () => {
    const before = renderVersions([
      { line: 'b 1.0.0 m2', publishedAt: '2024-10-02T00:00:00.000Z' },
      { line: 'a 1.0.0 m1', publishedAt: '2024-10-01T12:34:56.789Z' },
    ])
    expect(before).toBe('created_at: 2024-10-01T12:34:56Z\n---\na 1.0.0 m1\nb 1.0.0 m2\n')
    const after = renderVersions([
      { line: 'b 1.0.0 m2', publishedAt: '2024-10-02T00:00:00.000Z' },
      { line: 'a 1.0.0 m1', publishedAt: '2024-10-01T12:34:56.789Z' },
      { line: 'a 1.1.0 m3', publishedAt: '2024-10-03T00:00:00.000Z' },
    ])
    expect(after).toBe(`${before}a 1.1.0 m3\n`)
    expect(renderVersions([])).toBe('created_at: 1970-01-01T00:00:00Z\n---\n')
  })

  it('renders names sorted', () => {
    expect(renderNames(['foo', 'bar', 'baz'])).toBe('---\nbar\nbaz\nfoo\n')
    expect(renderNames([])).toBe('---\n')
  })
})

describe('gemspec', () => {
  it('reads the YAML gemspec `gem build` writes', () => {
    const yaml = [
      '--- !ruby/object:Gem::Specification',
      'name: demo',
      'version: !ruby/object:Gem::Version',
      '  version: 1.0.0.pre.beta.1',
      'platform: ruby',
      'authors:',
      '- lab',
      'date: 2024-10-22 00:00:00.000000000 Z',
      'dependencies:',
      '- !ruby/object:Gem::Dependency',
      '  name: rack',
      '  requirement: !ruby/object:Gem::Requirement',
      '    requirements:',
      '    - - ">="',
      '      - !ruby/object:Gem::Version',
      "        version: '1.0'",
      '  type: :runtime',
      'email:',
      'licenses:',
      '- MIT',
      'metadata: {}',
      'required_ruby_version: !ruby/object:Gem::Requirement',
      '  requirements:',
      '  - - ">="',
      '    - !ruby/object:Gem::Version',
      "      version: '2.7'",
      'rubygems_version: 3.3.15',
      'specification_version: 4',
      'summary: tiny',
      '',
    ].join('\n')
    expect(readGemspec(yaml)).toEqual({
      name: 'demo',
      version: '1.0.0.pre.beta.1',
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
      requiredRubyVersion: ['>= 2.7'],
      requiredRubygemsVersion: ['>= 0'],
    })
  })

  it('orders versions like Gem::Version', () => {
    const sorted = ['1.10.0', '1.9.0', '1.0.0.pre.beta.1', '1.0.0', '1.0', '0.9'].sort(compareGemVersions)
    expect(sorted).toEqual(['0.9', '1.0.0.pre.beta.1', '1.0.0', '1.0', '1.9.0', '1.10.0'])
  })
})
