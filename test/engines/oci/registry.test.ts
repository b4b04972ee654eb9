import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ReleaseRow } from '../../../gateway/catalog/types.ts'
import { createTestGateway, type TestGateway } from '../../helpers/app.ts'
import { OCI_INDEX, OCI_MANIFEST, type SynthImage, synthImage } from '../../helpers/oci-image.ts'
import {
  seedAccount,
  seedEntitlement,
  seedLicense,
  seedPackage,
  seedPolicy,
  seedProduct,
  seedRelease,
  seedToken,
} from '../../helpers/seed.ts'
import { basic, publishImage } from './fixtures.ts'

/**
 * The registry at `/v2/` (inject, SQLite, filesystem store), with images ingested by the real workers:
 * token endpoint, manifests, blobs, tags, referrers, the OCI error format, authorization per release, pull only.
 * see: ../shared/spec/engines.md §2.5, §4.9–4.12 · ../shared/spec/clients.md §4
 */

const KEY = 'OCI-LICENSE-KEY-0001'
const KEY_ENTITLED = 'OCI-LICENSE-KEY-0002'
const KEY_OTHER = 'OCI-LICENSE-KEY-0003'
const KEY_SUSPENDED = 'OCI-LICENSE-KEY-0004'
/** skopeo's six Accept lines, as Node joins them. */
const SKOPEO_ACCEPT = [
  OCI_MANIFEST,
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  OCI_INDEX,
].join(', ')
const CHALLENGE = 'Bearer realm="http://localhost:80/v2/token",service="pkgway"'
const scoped = (name: string) => `${CHALLENGE},scope="repository:${name}:pull"`

let gw: TestGateway
let latest: SynthImage
let insider: SynthImage
let draft: SynthImage
let open: SynthImage
let acme: { slug: string; image: SynthImage }
let productToken: string

const license = (key = KEY) => ({ authorization: basic('license', key) })
const errorBody = (code: string, message: string, detail: unknown = null) => ({ errors: [{ code, message, detail }] })

function get(url: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') {
  return gw.app.inject({ method, url, headers })
}

beforeAll(async () => {
  gw = await createTestGateway()
  const db = gw.catalog.db
  const account = gw.account
  const env = { catalog: gw.catalog, blobs: gw.blobs, account }
  const entitlement = await seedEntitlement(db, account, { code: 'INSIDER' })
  const product = await seedProduct(db, account, { strategy: 'LICENSED', code: 'demo' })
  const policy = await seedPolicy(db, account, { product, authenticationStrategy: 'MIXED' })
  await seedLicense(db, account, { policy, key: KEY })
  await seedLicense(db, account, { policy, key: KEY_ENTITLED, entitlements: [entitlement] })
  await seedLicense(db, account, { policy, key: KEY_SUSPENDED, suspended: true })
  productToken = (await seedToken(db, account, { bearerType: 'product', bearer: product })).raw
  const app = await seedPackage(db, account, { product, key: 'app', engine: 'oci' })
  const release = (version: string, over: Partial<Parameters<typeof seedRelease>[2]> = {}) =>
    seedRelease(db, account, { product, package: app, version, status: 'PUBLISHED', ...over })
  latest = synthImage({ index: true, attestation: true, referrer: true })
  insider = synthImage({ layerBytes: Buffer.alloc(2048, 2) })
  draft = synthImage({ layerBytes: Buffer.alloc(2048, 3) })
  await publishImage(env, await release('1.0.0', { tag: 'latest' }), latest)
  await publishImage(env, await release('2.0.0', { tag: 'insider', constraints: [entitlement] }), insider)
  await publishImage(env, await release('3.0.0', { status: 'DRAFT' }), draft)

  const pub = await seedProduct(db, account, { strategy: 'OPEN', code: 'pub' })
  const openApp = await seedPackage(db, account, { product: pub, key: 'open-app', engine: 'oci' })
  open = synthImage({ layerBytes: Buffer.alloc(2048, 4) })
  await publishImage(
    env,
    await seedRelease(db, account, { product: pub, package: openApp, version: '1.0.0', status: 'PUBLISHED' }),
    open,
  )
  await seedPackage(db, account, { product: pub, key: 'wheels', engine: 'pypi' })

  const other = await seedProduct(db, account, { strategy: 'LICENSED', code: 'other' })
  await seedLicense(db, account, {
    policy: await seedPolicy(db, account, { product: other, authenticationStrategy: 'MIXED' }),
    key: KEY_OTHER,
  })

  const acmeAccount = await seedAccount(db, 'acme')
  const acmeProduct = await seedProduct(db, acmeAccount, { strategy: 'OPEN', code: 'tools' })
  const tool = await seedPackage(db, acmeAccount, { product: acmeProduct, key: 'tool', engine: 'oci' })
  const acmeImage = synthImage({ layerBytes: Buffer.alloc(2048, 5) })
  const acmeRelease: ReleaseRow = await seedRelease(db, acmeAccount, {
    product: acmeProduct,
    package: tool,
    version: '1.0.0',
    status: 'PUBLISHED',
  })
  await publishImage({ ...env, account: acmeAccount }, acmeRelease, acmeImage)
  acme = { slug: 'acme', image: acmeImage }
}, 60_000)

afterAll(async () => {
  await gw?.close()
})

describe('GET /v2/', () => {
  it('answers 401 with the Bearer challenge without credentials', async () => {
    const res = await get('/v2/')
    expect(res.statusCode).toBe(401)
    expect(res.headers['www-authenticate']).toBe(CHALLENGE)
    expect(res.headers['docker-distribution-api-version']).toBe('registry/2.0')
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(res.json()).toEqual(errorBody('UNAUTHORIZED', 'authentication required'))
  })

  it('answers 200 for a valid license key, at /v2 and /v2/', async () => {
    for (const url of ['/v2/', '/v2']) {
      const res = await get(url, license())
      expect(res.statusCode).toBe(200)
      expect(res.headers['docker-distribution-api-version']).toBe('registry/2.0')
      expect(res.body).toBe('{}')
    }
  })

  it('answers 401 for a wrong license key, so docker login fails', async () => {
    const res = await get('/v2/', license('NOPE'))
    expect(res.statusCode).toBe(401)
    expect(res.headers['www-authenticate']).toBe(CHALLENGE)
    expect(res.json()).toEqual(
      errorBody('UNAUTHORIZED', 'You must be authenticated to complete the request', { code: 'LICENSE_INVALID' }),
    )
  })

  it('asks for Basic credentials when the Host is not one the gateway may name', async () => {
    const res = await get('/v2/', { host: 'evil.example:8080' })
    expect(res.statusCode).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Basic realm="pkgway"')
  })
})

describe('/v2/token', () => {
  const tokenFor = async (headers: Record<string, string>, scope = 'repository:app:pull') => {
    const res = await get(`/v2/token?account=license&scope=${encodeURIComponent(scope)}&service=pkgway`, headers)
    expect(res.statusCode, res.body).toBe(200)
    return res.json().token as string
  }

  it('issues a short-lived token for Basic credentials (GET, skopeo)', async () => {
    const res = await get('/v2/token?account=license&scope=repository%3Aapp%3Apull&service=pkgway', license())
    expect(res.statusCode).toBe(200)
    expect(res.headers['cache-control']).toBe('no-store')
    const body = res.json()
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'issued_at', 'token'])
    expect(body.access_token).toBe(body.token)
    expect(body.token).toMatch(/^pkgway\.oci\.[A-Za-z0-9_-]+$/)
    expect(body.token).not.toContain(KEY)
    expect(body.expires_in).toBe(300)
    expect(Math.abs(Date.parse(body.issued_at) - Date.now())).toBeLessThan(5000)
    const bearer = { authorization: `Bearer ${body.token}` }
    expect((await get('/v2/', bearer)).statusCode).toBe(200)
    expect((await get('/v2/app/manifests/latest', bearer)).statusCode).toBe(200)
  })

  it('issues a token for a containerd form POST', async () => {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v2/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `client_id=containerd-client&grant_type=password&username=license&password=${KEY}&scope=repository%3Aapp%3Apull&service=pkgway`,
    })
    expect(res.statusCode).toBe(200)
    const token = res.json().access_token
    expect((await get('/v2/app/manifests/latest', { authorization: `Bearer ${token}` })).statusCode).toBe(200)
  })

  it('refuses bad credentials with 401 and a Basic challenge', async () => {
    const res = await get('/v2/token?scope=repository%3Aapp%3Apull', license('NOPE'))
    expect(res.statusCode).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Basic realm="pkgway"')
    expect(res.json()).toEqual(
      errorBody('UNAUTHORIZED', 'You must be authenticated to complete the request', { code: 'LICENSE_INVALID' }),
    )
    const post = await gw.app.inject({
      method: 'POST',
      url: '/v2/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=password&username=license&password=NOPE&scope=repository%3Aapp%3Apull',
    })
    expect(post.statusCode).toBe(401)
  })

  it('refuses a POST that is not a password grant form', async () => {
    const json = await gw.app.inject({ method: 'POST', url: '/v2/token', payload: { grant_type: 'password' } })
    expect(json.statusCode).toBe(400)
    expect(json.json()).toEqual(errorBody('UNSUPPORTED', 'send a form (application/x-www-form-urlencoded)'))
    const refresh = await gw.app.inject({
      method: 'POST',
      url: '/v2/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=refresh_token&refresh_token=x',
    })
    expect(refresh.statusCode).toBe(400)
    expect(refresh.json()).toEqual(
      errorBody('UNSUPPORTED', 'only the password grant is supported', { grant_type: 'refresh_token' }),
    )
  })

  it('issues anonymous tokens that pull OPEN images only', async () => {
    const token = await tokenFor({}, 'repository:open-app:pull repository:app:pull')
    const bearer = { authorization: `Bearer ${token}` }
    expect((await get('/v2/open-app/manifests/1.0.0', bearer)).statusCode).toBe(200)
    const denied = await get('/v2/app/manifests/latest', bearer)
    expect(denied.statusCode).toBe(401)
    expect(denied.headers['www-authenticate']).toBe(scoped('app'))
  })

  it('binds a token to its repositories and account, and refuses forged ones', async () => {
    const token = await tokenFor(license())
    const other = await get('/v2/open-app/manifests/1.0.0', { authorization: `Bearer ${token}` })
    expect(other.statusCode).toBe(401)
    expect(other.headers['www-authenticate']).toBe(scoped('open-app'))
    expect(other.json()).toEqual(
      errorBody('UNAUTHORIZED', 'insufficient scope: the token does not grant pull on this repository'),
    )
    const acmeToken = await tokenFor({}, `repository:${acme.slug}/tool:pull`)
    expect((await get('/v2/app/manifests/latest', { authorization: `Bearer ${acmeToken}` })).statusCode).toBe(401)
    const forged = `${token.slice(0, -4)}AAAA`
    const res = await get('/v2/app/manifests/latest', { authorization: `Bearer ${forged}` })
    expect(res.statusCode).toBe(401)
    expect(res.json()).toEqual(errorBody('UNAUTHORIZED', 'invalid token'))
  })

  it('stops a token as soon as its license is suspended (it is resolved on every request)', async () => {
    const token = await tokenFor(license(KEY_SUSPENDED)).catch(() => null)
    expect(token).toBeNull()
    const res = await get('/v2/token?scope=repository%3Aapp%3Apull', license(KEY_SUSPENDED))
    expect(res.statusCode).toBe(403)
    expect(res.json()).toEqual(errorBody('DENIED', 'License is suspended', { code: 'LICENSE_SUSPENDED' }))
  })
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

describe('authorization per release', () => {
  it('challenges anonymous callers with the repository scope', async () => {
    const res = await get('/v2/app/manifests/latest')
    expect(res.statusCode).toBe(401)
    expect(res.headers['www-authenticate']).toBe(scoped('app'))
    expect(res.json()).toEqual(errorBody('UNAUTHORIZED', 'authentication required'))
    expect((await get('/v2/open-app/manifests/1.0.0')).statusCode).toBe(200)
  })

  it('denies a license lacking the entitlement a release is constrained by: its tag, digests and blobs', async () => {
    const deniedBody = errorBody('DENIED', 'requested access to the resource is denied')
    for (const url of [
      '/v2/app/manifests/insider',
      '/v2/app/manifests/2.0.0',
      `/v2/app/manifests/${insider.top.digest}`,
      `/v2/app/blobs/${insider.layer.digest}`,
    ]) {
      const res = await get(url, license())
      expect(res.statusCode, url).toBe(403)
      expect(res.json()).toEqual(deniedBody)
      expect((await get(url, license(KEY_ENTITLED))).statusCode, url).toBeLessThan(400)
    }
  })

  it("denies another product's license at the repository", async () => {
    const res = await get('/v2/app/manifests/latest', license(KEY_OTHER))
    expect(res.statusCode).toBe(403)
    expect(res.json()).toEqual(errorBody('DENIED', 'requested access to the resource is denied'))
  })

  it('shows drafts to staff and the product only', async () => {
    expect((await get('/v2/app/manifests/3.0.0', license())).statusCode).toBe(404)
    const admin = await get('/v2/app/manifests/3.0.0', { authorization: `Bearer ${gw.adminToken}` })
    expect(admin.statusCode).toBe(200)
    expect(admin.rawPayload.equals(draft.top.body)).toBe(true)
    expect((await get('/v2/app/manifests/3.0.0', { authorization: basic('token', productToken) })).statusCode).toBe(200)
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

describe('pull only', () => {
  it.each([
    ['POST', '/v2/app/blobs/uploads/'],
    ['PUT', '/v2/app/manifests/latest'],
    ['PATCH', '/v2/app/blobs/uploads/1234'],
    ['DELETE', '/v2/app/manifests/latest'],
    ['DELETE', '/v2/'],
    ['GET', '/v2/_catalog'],
    ['GET', '/v2/app/blobs/uploads/1234'],
  ] as const)('%s %s → 405 UNSUPPORTED', async (method, url) => {
    const res = await gw.app.inject({
      method,
      url,
      headers: { ...license(), 'content-type': OCI_MANIFEST },
      payload: method === 'GET' ? undefined : '{"schemaVersion":2}',
    })
    expect(res.statusCode).toBe(405)
    expect(res.json()).toEqual(errorBody('UNSUPPORTED', 'the operation is unsupported: this registry is pull-only'))
  })
})
