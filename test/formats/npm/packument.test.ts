import { describe, expect, it } from 'vitest'
import { readPackageJson, isValidNpmName } from '../../../formats/npm/package-json.ts'
import { distTagsOf, integrityOf, renderPackument } from '../../../formats/npm/packument.ts'

describe('packument', () => {
  it('picks latest: a release tagged latest, else the highest stable, else the highest prerelease', () => {
    expect(
      distTagsOf([
        { version: '1.0.0', tag: null },
        { version: '2.0.0-rc.1', tag: 'next' },
        { version: '1.2.0', tag: null },
      ]),
    ).toEqual({
      latest: '1.2.0',
      next: '2.0.0-rc.1',
    })
    expect(
      distTagsOf([
        { version: '1.0.0', tag: 'latest' },
        { version: '1.2.0', tag: null },
      ]),
    ).toEqual({ latest: '1.0.0' })
    expect(
      distTagsOf([
        { version: '1.0.0-beta.1', tag: null },
        { version: '1.0.0-beta.2', tag: 'beta' },
      ]),
    ).toEqual({
      latest: '1.0.0-beta.2',
      beta: '1.0.0-beta.2',
    })
    expect(distTagsOf([])).toEqual({})
  })

  it('keeps vendor tags named like Object.prototype members as plain keys', () => {
    const tags = distTagsOf([{ version: '1.0.0', tag: '__proto__' }])
    expect(JSON.stringify(tags)).toBe('{"latest":"1.0.0","__proto__":"1.0.0"}')
  })

  it('serializes name, time, dist-tags, versions; replaces a vendor dist; integrity from the verified SHA-512', () => {
    const sha512 = 'ff'.repeat(64)
    const body = renderPackument({
      name: 'demo',
      created: '2024-10-01T00:00:00Z',
      modified: '2024-10-02T00:00:00.5Z',
      distTags: { latest: '1.0.0' },
      versions: [
        {
          version: '1.0.0',
          manifest: { name: 'demo', dist: { tarball: 'http://elsewhere/x.tgz' }, version: '1.0.0' },
          tarball: 'http://gw/v1/accounts/a/artifacts/b/demo-1.0.0.tgz',
          sha1: null,
          sha512,
          checksum: 'ABCDEF0123456789ABCDEF0123456789ABCDEF01',
          createdAt: '2024-10-02T00:00:00Z',
        },
      ],
    })
    expect(body).toBe(
      '{"name":"demo","time":{"created":"2024-10-01T00:00:00.000Z","modified":"2024-10-02T00:00:00.500Z",' +
        '"1.0.0":"2024-10-02T00:00:00.000Z"},"dist-tags":{"latest":"1.0.0"},"versions":{"1.0.0":{"name":"demo",' +
        '"version":"1.0.0","dist":{"tarball":"http://gw/v1/accounts/a/artifacts/b/demo-1.0.0.tgz",' +
        `"integrity":"${integrityOf(sha512)}","shasum":"abcdef0123456789abcdef0123456789abcdef01"}}}}`,
    )
    expect(integrityOf(sha512)).toBe(`sha512-${Buffer.alloc(64, 0xff).toString('base64')}`)
  })

  it('takes shasum from the SHA-1 the worker measured, whatever the vendor declared', () => {
    const version = {
      version: '1.0.0',
      manifest: { name: 'demo', version: '1.0.0' },
      tarball: 'http://gw/t.tgz',
      sha1: '0123456789abcdef0123456789abcdef01234567',
      sha512: null,
      createdAt: '2024-10-02T00:00:00Z',
    }
    const dist = (checksum: string | null, sha1: string | null = version.sha1) => {
      const body = renderPackument({
        name: 'demo',
        created: '2024-10-01T00:00:00Z',
        modified: '2024-10-02T00:00:00Z',
        distTags: { latest: '1.0.0' },
        versions: [{ ...version, sha1, checksum }],
      })
      return JSON.parse(body).versions['1.0.0'].dist
    }
    const measured = { tarball: 'http://gw/t.tgz', shasum: '0123456789abcdef0123456789abcdef01234567' }
    expect(dist(null)).toEqual(measured)
    expect(dist('ABCDEF0123456789ABCDEF0123456789ABCDEF01')).toEqual(measured)
    expect(dist('sha512-whatever')).toEqual(measured)
    // Verified before the worker measured SHA-1: a vendor's hex SHA-1 (checked by the worker) still serves.
    expect(dist('ABCDEF0123456789ABCDEF0123456789ABCDEF01', null)).toEqual({
      tarball: 'http://gw/t.tgz',
      shasum: 'abcdef0123456789abcdef0123456789abcdef01',
    })
    expect(dist('sha512-whatever', null)).toEqual({ tarball: 'http://gw/t.tgz' })
  })
})

describe('package.json', () => {
  it('reads name and version, or says why not', () => {
    expect(readPackageJson('{"name":"a","version":"1.0.0"}')).toMatchObject({ ok: true, value: { name: 'a' } })
    expect(readPackageJson('[]')).toEqual({ ok: false, reason: 'package/package.json is not a JSON object' })
    expect(readPackageJson('{"name":"a"}')).toEqual({ ok: false, reason: 'package/package.json has no version' })
  })

  it('accepts the names the registry serves', () => {
    for (const ok of ['foo', '@scope/foo', 'a.b-c_d', '@a1/x9']) expect(isValidNpmName(ok), ok).toBe(true)
    for (const bad of ['Foo', 'a', '@scope', '@/x', '../x', 'foo/bar', '@s/../x'])
      expect(isValidNpmName(bad), bad).toBe(false)
  })
})
