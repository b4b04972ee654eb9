import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestGateway } from '../../helpers/app.ts'
import { OCI_MANIFEST, type SynthImage } from '../../helpers/oci-image.ts'
import {
  basic,
  CHALLENGE,
  errorBody,
  KEY,
  KEY_ENTITLED,
  KEY_OTHER,
  KEY_SUSPENDED,
  license,
  scoped,
  openRegistry,
  type RegistryFixture,
} from './fixtures.ts'

/**
 * The registry's front door (inject, SQLite, filesystem store; images ingested by the real workers): the /v2/
 * ping, the token endpoint, authorization per release, and pull only.
 * see: ../shared/spec/engines.md §2.5, §4.9–4.12 · ../shared/spec/clients.md §4
 */

let gw: TestGateway
let insider: SynthImage
let draft: SynthImage
let acme: RegistryFixture['acme']
let productToken: string

function get(url: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') {
  return gw.app.inject({ method, url, headers })
}

beforeAll(async () => {
  ;({ gw, insider, draft, acme, productToken } = await openRegistry())
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
