import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestGateway, type TestGateway } from '../../helpers/app.ts'
import { OCI_INDEX, OCI_MANIFEST, type SynthImage, synthImage } from '../../helpers/oci-image.ts'
import { seedPackage, seedProduct, seedRelease } from '../../helpers/seed.ts'
import {
  errorBody,
  KEY_ENTITLED,
  license,
  SKOPEO_ACCEPT,
  openRegistry,
  publishImage,
  type RegistryFixture,
} from './fixtures.ts'

/**
 * What the registry serves (inject, SQLite, filesystem store; images ingested by the real workers): manifests,
 * blobs, tags and referrers, in the OCI error format.
 * see: ../shared/spec/engines.md §2.5, §4.9–4.12 · ../shared/spec/clients.md §4
 */

let gw: TestGateway
let latest: SynthImage
let open: SynthImage
let acme: RegistryFixture['acme']

function get(url: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') {
  return gw.app.inject({ method, url, headers })
}

beforeAll(async () => {
  ;({ gw, latest, open, acme } = await openRegistry())
}, 60_000)

afterAll(async () => {
  await gw?.close()
})

describe('GET|HEAD /v2/<name>/manifests/<reference>', () => {
  const top = () => latest.top
  it('serves the index a tag names, verbatim, with its media type and digest', async () => {
    for (const ref of ['latest', '1.0.0', top().digest]) {
      const res = await get(`/v2/app/manifests/${ref}`, { ...license(), accept: SKOPEO_ACCEPT })
      expect(res.statusCode, ref).toBe(200)
      expect(res.headers['content-type']).toBe(OCI_INDEX)
      expect(res.headers['docker-content-digest']).toBe(top().digest)
      expect(res.headers.etag).toBe(`"${top().digest}"`)
      expect(res.headers['content-length']).toBe(String(top().size))
      expect(res.headers['cache-control']).toBe('max-age=600, private, no-transform')
      expect(res.rawPayload.equals(top().body)).toBe(true)
    }
  })

  it('answers HEAD with the same headers and no body', async () => {
    const res = await get('/v2/app/manifests/latest', license(), 'HEAD')
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe(OCI_INDEX)
    expect(res.headers['docker-content-digest']).toBe(top().digest)
    expect(res.headers['content-length']).toBe(String(top().size))
    expect(res.body).toBe('')
  })

  it('serves children by digest, and the linux/amd64 manifest of a tag to a client that takes no index', async () => {
    const m = latest.manifest
    const byDigest = await get(`/v2/app/manifests/${m.digest}`, { ...license(), accept: `${OCI_MANIFEST}, */*` })
    expect(byDigest.statusCode).toBe(200)
    expect(byDigest.headers['content-type']).toBe(OCI_MANIFEST)
    expect(byDigest.rawPayload.equals(m.body)).toBe(true)
    const attestation = latest.extra.attestation!
    expect((await get(`/v2/app/manifests/${attestation.digest}`, license())).rawPayload.equals(attestation.body)).toBe(
      true,
    )
    const old = await get('/v2/app/manifests/latest', {
      ...license(),
      accept: `${OCI_MANIFEST}, application/vnd.docker.distribution.manifest.v2+json`,
    })
    expect(old.statusCode).toBe(200)
    expect(old.headers['docker-content-digest']).toBe(m.digest)
  })

  it('answers 304 to a matching If-None-Match', async () => {
    const res = await get('/v2/app/manifests/latest', { ...license(), 'if-none-match': `"${top().digest}"` })
    expect(res.statusCode).toBe(304)
    expect(res.body).toBe('')
  })

  it('answers 404 MANIFEST_UNKNOWN for unknown references, blobs that are no manifest, unaccepted types', async () => {
    const nope = await get('/v2/app/manifests/nope', license())
    expect(nope.statusCode).toBe(404)
    expect(nope.json()).toEqual(errorBody('MANIFEST_UNKNOWN', 'manifest unknown', { Tag: 'nope' }))
    const config = await get(`/v2/app/manifests/${latest.config.digest}`, license())
    expect(config.json()).toEqual(errorBody('MANIFEST_UNKNOWN', 'manifest unknown', { Digest: latest.config.digest }))
    const html = await get('/v2/app/manifests/latest', { ...license(), accept: 'text/html' })
    expect(html.statusCode).toBe(404)
    expect(html.json()).toEqual(
      errorBody('MANIFEST_UNKNOWN', 'manifest unknown: its media type is not in the Accept header', { Tag: 'latest' }),
    )
  })

  it('answers 400 for invalid digests, references and names, 404 NAME_UNKNOWN for unknown repositories', async () => {
    const digest = await get('/v2/app/manifests/sha256:invalid', license())
    expect(digest.statusCode).toBe(400)
    expect(digest.json()).toEqual(
      errorBody('DIGEST_INVALID', 'provided digest did not match uploaded content', { digest: 'sha256:invalid' }),
    )
    const tag = await get('/v2/app/manifests/1.0.0+build', license())
    expect(tag.statusCode).toBe(400)
    expect(tag.json()).toEqual(
      errorBody('MANIFEST_INVALID', 'invalid reference: not a tag or a digest', { reference: '1.0.0+build' }),
    )
    const name = await get('/v2/App/manifests/latest', license())
    expect(name.statusCode).toBe(400)
    expect(name.json()).toEqual(errorBody('NAME_INVALID', 'invalid repository name', { name: 'App' }))
    for (const repo of ['nope', 'wheels', 'nobody/app']) {
      const res = await get(`/v2/${repo}/manifests/latest`, license())
      expect(res.statusCode, repo).toBe(404)
      expect(res.json()).toEqual(errorBody('NAME_UNKNOWN', 'repository name not known to registry', { name: repo }))
    }
  })

  it('serves other accounts as <account>/<package>', async () => {
    const res = await get(`/v2/${acme.slug}/tool/manifests/1.0.0`)
    expect(res.statusCode).toBe(200)
    expect(res.rawPayload.equals(acme.image.top.body)).toBe(true)
  })
})

describe('GET|HEAD /v2/<name>/blobs/<digest>', () => {
  it('answers HEAD with the digest and length', async () => {
    const res = await get(`/v2/app/blobs/${latest.layer.digest}`, license(), 'HEAD')
    expect(res.statusCode).toBe(200)
    expect(res.headers['docker-content-digest']).toBe(latest.layer.digest)
    expect(res.headers['content-length']).toBe(String(latest.layer.size))
    expect(res.body).toBe('')
  })

  it('redirects GET (307) to the stored blob, manifests included', async () => {
    for (const blob of [latest.layer, latest.config, latest.manifest, latest.top]) {
      const res = await get(`/v2/app/blobs/${blob.digest}`, license())
      expect(res.statusCode).toBe(307)
      expect(res.headers['docker-content-digest']).toBe(blob.digest)
      const location = res.headers.location as string
      expect(location).toMatch(
        new RegExp(`^/v1/blobs/blobs/${gw.account.id}/sha256/${blob.digest.slice(7)}\\?method=GET&expires=\\d+&sig=`),
      )
      const bytes = await get(location)
      expect(bytes.statusCode).toBe(200)
      expect(bytes.rawPayload.equals(blob.body)).toBe(true)
    }
  })

  it('answers 404 BLOB_UNKNOWN for unknown blobs and blobs of other repositories, 400 for bad digests', async () => {
    for (const digest of [`sha256:${'0'.repeat(64)}`, open.layer.digest]) {
      const res = await get(`/v2/app/blobs/${digest}`, license())
      expect(res.statusCode).toBe(404)
      expect(res.json()).toEqual(errorBody('BLOB_UNKNOWN', 'blob unknown to registry', { digest }))
    }
    const bad = await get('/v2/app/blobs/oci-layout', license())
    expect(bad.statusCode).toBe(400)
    expect(bad.json().errors[0].code).toBe('DIGEST_INVALID')
  })
})

describe('GET /v2/<name>/tags/list', () => {
  it('lists the tags and versions the caller can pull, in order', async () => {
    const tags = async (headers: Record<string, string>) => (await get('/v2/app/tags/list', headers)).json()
    expect(await tags(license())).toEqual({ name: 'app', tags: ['1.0.0', 'latest'] })
    expect(await tags(license(KEY_ENTITLED))).toEqual({ name: 'app', tags: ['1.0.0', '2.0.0', 'insider', 'latest'] })
    expect(await tags({ authorization: `Bearer ${gw.adminToken}` })).toEqual({
      name: 'app',
      tags: ['1.0.0', '2.0.0', '3.0.0', 'insider', 'latest'],
    })
  })

  it('pages with n and last, linking to the next page', async () => {
    const first = await get('/v2/app/tags/list?n=2', license(KEY_ENTITLED))
    expect(first.statusCode).toBe(200)
    expect(first.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(first.json()).toEqual({ name: 'app', tags: ['1.0.0', '2.0.0'] })
    expect(first.headers.link).toBe('</v2/app/tags/list?n=2&last=2.0.0>; rel="next"')
    const second = await get('/v2/app/tags/list?n=2&last=2.0.0', license(KEY_ENTITLED))
    expect(second.json()).toEqual({ name: 'app', tags: ['insider', 'latest'] })
    expect(second.headers.link).toBeUndefined()
    const bad = await get('/v2/app/tags/list?n=many', license())
    expect(bad.statusCode).toBe(400)
    expect(bad.json()).toEqual(
      errorBody('PAGINATION_NUMBER_INVALID', 'invalid number of results requested', { n: 'many' }),
    )
  })
})

describe('GET /v2/<name>/referrers/<digest>', () => {
  it('lists attestations and subject referrers of a manifest as an image index', async () => {
    const attestation = latest.extra.attestation!
    const signature = latest.extra.referrer!
    const res = await get(`/v2/app/referrers/${latest.manifest.digest}`, license())
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe(OCI_INDEX)
    expect(res.json()).toEqual({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: expect.arrayContaining([
        {
          mediaType: OCI_MANIFEST,
          digest: attestation.digest,
          size: attestation.size,
          artifactType: 'application/vnd.oci.image.config.v1+json',
          annotations: attestation.annotations,
        },
        {
          mediaType: OCI_MANIFEST,
          digest: signature.digest,
          size: signature.size,
          artifactType: 'application/vnd.example.signature',
          annotations: { 'org.example.signed-by': 'test' },
        },
      ]),
    })
    expect(res.json().manifests).toHaveLength(2)
    const filtered = await get(
      `/v2/app/referrers/${latest.manifest.digest}?artifactType=application%2Fvnd.example.signature`,
      license(),
    )
    expect(filtered.headers['oci-filters-applied']).toBe('artifactType')
    expect(filtered.json().manifests.map((m: { digest: string }) => m.digest)).toEqual([signature.digest])
    const none = await get(`/v2/app/referrers/sha256:${'0'.repeat(64)}`, license())
    expect(none.json()).toEqual({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] })
  })
})

describe('blobs with storage.delivery = proxy', () => {
  it('streams the blob instead of redirecting', async () => {
    const proxied = await createTestGateway({ config: { storage: { delivery: 'proxy' } } })
    try {
      const db = proxied.catalog.db
      const product = await seedProduct(db, proxied.account, { strategy: 'OPEN', code: 'pub' })
      const pkg = await seedPackage(db, proxied.account, { product, key: 'app', engine: 'oci' })
      const release = await seedRelease(db, proxied.account, { product, package: pkg, status: 'PUBLISHED' })
      const image = synthImage()
      await publishImage({ catalog: proxied.catalog, blobs: proxied.blobs, account: proxied.account }, release, image)
      const res = await proxied.app.inject({ method: 'GET', url: `/v2/app/blobs/${image.layer.digest}` })
      expect(res.statusCode).toBe(200)
      expect(res.headers['docker-content-digest']).toBe(image.layer.digest)
      expect(res.rawPayload.equals(image.layer.body)).toBe(true)
    } finally {
      await proxied.close()
    }
  })
})
