import { describe, expect, it } from 'vitest'
import { accepts, parseAccept, preferenceRank } from '../../formats/oci/accept.ts'
import { isRepositoryName, isTag, parseDigest } from '../../formats/oci/digest.ts'
import { looksLikeManifest, ManifestError, parseLayoutIndex, parseManifest } from '../../formats/oci/manifest.ts'
import { MEDIA_TYPES } from '../../formats/oci/media-types.ts'

const hex = 'ab'.repeat(32)
const descriptor = { mediaType: MEDIA_TYPES.ociManifest, digest: `sha256:${hex}`, size: 10 }

describe('digest, tag and name grammar', () => {
  it('reads sha256 and sha512 digests and nothing else', () => {
    expect(parseDigest(`sha256:${hex}`)).toEqual({ algorithm: 'sha256', hex })
    expect(parseDigest(`sha512:${hex}${hex}`)).toEqual({ algorithm: 'sha512', hex: `${hex}${hex}` })
    for (const bad of ['sha256:invalid', `sha256:${hex.toUpperCase()}`, `md5:${hex}`, hex, `sha256:${hex}0`]) {
      expect(parseDigest(bad), bad).toBeNull()
    }
  })

  it('knows tags and repository names', () => {
    expect(['latest', '1.0.0', '1.0.0-rc.1', '_x', 'a'.repeat(128)].every(isTag)).toBe(true)
    expect(['1.0.0+build', '-x', '.x', 'a'.repeat(129), ''].some(isTag)).toBe(false)
    expect(['app', 'acme/app', 'a.b_c__d-e/f--g'].every(isRepositoryName)).toBe(true)
    expect(['App', 'app/', '/app', 'a//b', 'a_', '', 'a'.repeat(256)].some(isRepositoryName)).toBe(false)
  })
})

describe('Accept negotiation', () => {
  it('reads every value of every line, drops q=0, and treats a missing or wildcard Accept as anything', () => {
    const skopeo = parseAccept(
      `${MEDIA_TYPES.ociManifest}, ${MEDIA_TYPES.dockerManifest};q=0.5, ${MEDIA_TYPES.ociIndex}`,
    )
    expect(skopeo).toEqual({
      any: false,
      types: new Set([MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest, MEDIA_TYPES.ociIndex]),
    })
    expect(parseAccept([MEDIA_TYPES.ociManifest, MEDIA_TYPES.ociIndex]).types.size).toBe(2)
    expect(accepts(parseAccept(`${MEDIA_TYPES.ociIndex};q=0, text/html`), MEDIA_TYPES.ociIndex)).toBe(false)
    for (const any of [undefined, '', '*/*', 'text/html, */*', '*'])
      expect(parseAccept(any).any, String(any)).toBe(true)
  })

  it('prefers index > list > OCI manifest > Docker manifest', () => {
    const order = [MEDIA_TYPES.dockerManifest, 'application/json', MEDIA_TYPES.ociIndex, MEDIA_TYPES.ociManifest]
    expect(order.sort((a, b) => preferenceRank(a) - preferenceRank(b))).toEqual([
      MEDIA_TYPES.ociIndex,
      MEDIA_TYPES.ociManifest,
      MEDIA_TYPES.dockerManifest,
      'application/json',
    ])
  })
})

describe('manifest parsing', () => {
  it('reads indexes and image manifests, with or without their own mediaType', () => {
    const index = parseManifest(
      JSON.stringify({ schemaVersion: 2, manifests: [descriptor] }),
      MEDIA_TYPES.ociIndex,
      'x',
    )
    expect(index).toMatchObject({ kind: 'index', mediaType: null, manifests: [{ ...descriptor, platform: null }] })
    const manifest = parseManifest(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociManifest,
        config: descriptor,
        layers: [],
        subject: descriptor,
      }),
      MEDIA_TYPES.ociManifest,
      'x',
    )
    expect(manifest).toMatchObject({ kind: 'manifest', layers: [], subject: { digest: descriptor.digest } })
    expect(parseLayoutIndex(JSON.stringify({ schemaVersion: 2, manifests: [] })).manifests).toEqual([])
  })

  it.each([
    ['not JSON', '{', MEDIA_TYPES.ociIndex, 'm is not valid JSON'],
    ['schema 1', '{"schemaVersion":1}', MEDIA_TYPES.ociIndex, 'm is not schemaVersion 2'],
    [
      'a contradicting mediaType',
      JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [] }),
      MEDIA_TYPES.ociManifest,
      `m declares mediaType ${MEDIA_TYPES.ociIndex} but is referenced as ${MEDIA_TYPES.ociManifest}`,
    ],
    [
      'no layers',
      JSON.stringify({ schemaVersion: 2, config: descriptor }),
      MEDIA_TYPES.ociManifest,
      'm has no layers list',
    ],
    [
      'a bad digest',
      JSON.stringify({ schemaVersion: 2, manifests: [{ ...descriptor, digest: 'sha256:x' }] }),
      MEDIA_TYPES.ociIndex,
      'm.manifests[0] has an invalid digest: "sha256:x"',
    ],
    [
      'a negative size',
      JSON.stringify({ schemaVersion: 2, manifests: [{ ...descriptor, size: -1 }] }),
      MEDIA_TYPES.ociIndex,
      'm.manifests[0] has an invalid size: -1',
    ],
  ])('rejects %s', (_label, text, mediaType, message) => {
    expect(() => parseManifest(text, mediaType, 'm')).toThrow(new ManifestError(message))
  })

  it('tells which small JSON blobs may be manifests while streaming', () => {
    expect(looksLikeManifest(Buffer.from(' {"schemaVersion":2,"layers":[]}'))).toBe(true)
    expect(looksLikeManifest(Buffer.from('{"schemaVersion":2,"manifests":[]}'))).toBe(true)
    expect(looksLikeManifest(Buffer.from('{"architecture":"amd64","os":"linux"}'))).toBe(false)
    expect(looksLikeManifest(Buffer.from([0x1f, 0x8b, 0x08]))).toBe(false)
  })
})
