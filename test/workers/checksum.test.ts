import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { matchChecksum, parseChecksum } from '../../workers/process-upload/checksum.ts'
import { formatBytes } from '../../workers/process-upload/limits.ts'
import { gemMatchesRelease, gemSegments, gemVersionsEqual } from '../../formats/rubygems/version.ts'
import { normalizeProjectName } from '../../formats/python/normalize.ts'
import { headerValue } from '../../formats/python/core-metadata.ts'

const body = Buffer.from('hello world\n')
const digest = (a: string) => createHash(a).update(body).digest()
const digests = {
  md5: digest('md5'),
  sha1: digest('sha1'),
  sha224: digest('sha224'),
  sha256: digest('sha256'),
  sha384: digest('sha384'),
  sha512: digest('sha512'),
}

describe('parseChecksum', () => {
  it('reads the keygen CLI encodings of sha-512, sha-256 and sha-1', () => {
    const cases: [string, string, string][] = []
    for (const algo of ['sha512', 'sha256', 'sha1'] as const) {
      const d = digests[algo]
      cases.push([d.toString('hex'), algo, 'hex'])
      cases.push([d.toString('base64'), algo, 'base64'])
      cases.push([d.toString('base64').replace(/=+$/, ''), algo, 'base64raw'])
    }
    for (const [text, algo, encoding] of cases) {
      const parsed = parseChecksum(text)
      expect(
        parsed.map((c) => `${c.algorithm}/${c.encoding}`),
        text,
      ).toContain(`${algo}/${encoding}`)
      expect(matchChecksum(parsed, digests)?.algorithm).toBe(algo)
    }
  })

  it('reads the padded base64url sample of the CLI transcript (sha-1)', () => {
    const [c] = parseChecksum('aeZNAJ79RRu8_b2jb1f9XKjUVlQ=')
    expect(c).toMatchObject({ algorithm: 'sha1', encoding: 'base64url' })
    expect(c.digest.toString('hex')).toBe('69e64d009efd451bbcfdbda36f57fd5ca8d45654')
    expect(parseChecksum('aeZNAJ79RRu8_b2jb1f9XKjUVlQ')[0]).toMatchObject({
      algorithm: 'sha1',
      encoding: 'base64urlraw',
    })
  })

  it('reads the unpadded base64 sha-512 default (86 characters)', () => {
    const text = digests.sha512.toString('base64').replace(/=+$/, '')
    expect(text).toHaveLength(86)
    expect(parseChecksum(text)).toEqual([{ algorithm: 'sha512', encoding: 'base64raw', digest: digests.sha512 }])
  })

  it('gives 64 hex characters both readings (sha256 hex, sha384 base64), hex first', () => {
    const parsed = parseChecksum(digests.sha256.toString('hex'))
    expect(parsed.map((c) => c.algorithm)).toEqual(['sha256', 'sha384'])
    expect(matchChecksum(parsed, digests)?.encoding).toBe('hex')
  })

  it('reads md5, sha224, sha384, 0x-prefixed and algorithm-prefixed forms', () => {
    expect(parseChecksum(digests.md5.toString('hex'))[0].algorithm).toBe('md5')
    expect(parseChecksum(digests.sha224.toString('hex'))[0].algorithm).toBe('sha224')
    expect(parseChecksum(digests.sha384.toString('hex'))[0].algorithm).toBe('sha384')
    expect(parseChecksum(`0x${digests.sha1.toString('hex')}`)[0].algorithm).toBe('sha1')
    expect(parseChecksum(`sha512-${digests.sha512.toString('base64')}`)).toHaveLength(1)
    expect(parseChecksum(`SHA-256=${digests.sha256.toString('hex')}`)).toHaveLength(1)
    // A prefix that contradicts the length has no reading.
    expect(parseChecksum(`sha512:${digests.sha256.toString('hex')}`)).toEqual([])
  })

  it('has no reading for garbage, odd lengths, mixed alphabets or non-canonical base64', () => {
    for (const text of [
      '',
      'not-a-checksum',
      'abc',
      digests.sha256.toString('hex').slice(1),
      `${digests.sha256.toString('hex')}00`,
      'aeZNAJ79RRu8_b2jb1f9XKjUVl+=',
      'aeZNAJ79RRu8_b2jb1f9XKjUVlR=',
      `${digests.sha512.toString('base64').replace(/=+$/, '')}=`,
    ]) {
      expect(parseChecksum(text), text).toEqual([])
    }
  })

  it('does not match another digest', () => {
    const other = createHash('sha512').update('other').digest('base64')
    expect(matchChecksum(parseChecksum(other), digests)).toBeUndefined()
  })
})

describe('gem versions', () => {
  it('compares like Gem::Version', () => {
    expect(gemSegments('1.0.0-beta.1')).toEqual([1, 'pre', 'beta', 1])
    expect(gemVersionsEqual('1.0.0.pre.beta.1', '1.0.0-beta.1')).toBe(true)
    expect(gemVersionsEqual('1.0', '1.0.0')).toBe(true)
    expect(gemVersionsEqual('1.0.1', '1.0.0')).toBe(false)
    expect(gemVersionsEqual('1.0.0.rc1', '1.0.0-rc1')).toBe(false)
    expect(gemVersionsEqual('1.0.0+build', '1.0.0')).toBe(false)
  })

  it('matches a gem to a semver release as RubyGems reads it, or with the prerelease as plain segments', () => {
    expect(gemMatchesRelease('1.0.0', '1.0.0')).toBe(true)
    expect(gemMatchesRelease('1.0.0.pre.beta.1', '1.0.0-beta.1')).toBe(true)
    expect(gemMatchesRelease('1.0.0.rc1', '1.0.0-rc1')).toBe(true)
    expect(gemMatchesRelease('1.0.0.rc1', '1.0.0-rc.1')).toBe(true)
    expect(gemMatchesRelease('2.0.0.pre1', '2.0.0-pre1')).toBe(true)
    expect(gemMatchesRelease('1.0.0.beta.2', '1.0.0-beta.2')).toBe(true)
    expect(gemMatchesRelease('1.0.0.rc1', '1.0.0-rc2')).toBe(false)
    expect(gemMatchesRelease('1.0.0.rc1', '1.0.0')).toBe(false)
    expect(gemMatchesRelease('1.0.0', '1.0.0-rc1')).toBe(false)
    expect(gemMatchesRelease('1.0.0', '1.0.0+build.5')).toBe(false)
    expect(gemMatchesRelease('1.0.0.rc1', '1.0.0-rc1+build.5')).toBe(false)
  })
})

describe('wheel metadata helpers', () => {
  it('normalises names like PEP 503 and reads header fields', () => {
    expect(normalizeProjectName('Demo_Pkg..x')).toBe('demo-pkg-x')
    const meta = 'Metadata-Version: 2.1\nName:  demo-pkg \nRequires-Python: >=3.8\n\nName: in the body\n'
    expect(headerValue(meta, 'Name')).toBe('demo-pkg')
    expect(headerValue(meta, 'requires-python')).toBe('>=3.8')
    expect(headerValue(meta, 'Summary')).toBeNull()
  })
})

describe('limits', () => {
  it('formats sizes for reasons', () => {
    expect(formatBytes(1024 ** 2)).toBe('1 MiB')
    expect(formatBytes(5 * 1024 ** 3)).toBe('5 GiB')
    expect(formatBytes(1536)).toBe('1536 bytes')
  })
})
