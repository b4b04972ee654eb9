import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestGateway, type TestGateway } from '../helpers/app.ts'
import { cliRequest, type WireResponse, uploadPut } from '../helpers/go-client.ts'
import { processUpload } from '../helpers/uploads.ts'

/**
 * Replays, over real HTTP, the calls the keygen CLI 2.9.x makes (../shared/spec/keygen-cli-wire.md §3–4),
 * with its exact headers and bodies, and checks every status and field the CLI reads. The CLI panics on any
 * 5xx or non-JSON body, so every response is also checked for that.
 */

// The 100 KB test file of the capture: byte i is (7*i+3) mod 256.
const FILE = Buffer.from(Array.from({ length: 102400 }, (_, i) => (7 * i + 3) % 256))
const SHA512_B64RAW = 'wScMj6t70dwcRrIlyS9/a7rkjGpZhGHINHDfqD1yFw+sQ/zw7RUzqSQ9tlI82n9POM366f29omiVGPcHL9Z/ew'
const SHA256_HEX = '8e4a094e1fc403a8753098539cec02d064b2ac40bc3b5422a0a5be5c33a3c255'
const EMPTY_SHA512 = 'z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg'

describe.each(['filesystem', 's3'] as const)('keygen CLI wire replay (%s storage)', (storage) => {
  let gw: TestGateway
  let token: string
  let productId: string
  let packageId: string
  let entitlementId: string
  let releaseId: string
  let betaId: string
  const cli = (method: string, path: string, body?: unknown) => cliRequest(gw.url, token, method, path, body)

  /** cliSafe asserts what the CLI needs of every answer: no 5xx, and a JSON body (or an empty one). */
  function cliSafe(res: WireResponse): WireResponse {
    expect(res.status).toBeLessThan(500)
    if (res.body.length > 0) expect(() => res.json).not.toThrow()
    return res
  }

  beforeAll(async () => {
    gw = await createTestGateway({ listen: true, storage })
    const admin = (method: string, path: string, body?: unknown) =>
      cliRequest(gw.url, gw.adminToken, method, path, body)
    const product = await admin('POST', '/v1/products', { data: { type: 'products', attributes: { name: 'Demo' } } })
    productId = product.json.data.id
    const prod = await admin('POST', `/v1/products/${productId}/tokens`)
    expect(prod.status).toBe(200)
    token = prod.json.data.attributes.token
    expect(token).toMatch(/^prod-[0-9a-f]{64}v3$/)
    const pkg = await admin('POST', '/v1/packages', {
      data: {
        type: 'packages',
        attributes: { name: 'My Package', key: 'mypkg' },
        relationships: { product: { data: { type: 'products', id: productId } } },
      },
    })
    packageId = pkg.json.data.id
    const ent = await admin('POST', '/v1/entitlements', {
      data: { type: 'entitlements', attributes: { name: 'Feature A', code: 'FEATURE_A' } },
    })
    entitlementId = ent.json.data.id
  })
  afterAll(async () => {
    await gw?.close()
  })

  it('new (all options): resolves the entitlement and package, then drafts the release (§3.1)', async () => {
    const ent = cliSafe(await cli('GET', '/v1/entitlements/FEATURE_A'))
    expect(ent.status).toBe(200)
    expect(ent.json.data).toMatchObject({ id: entitlementId, type: 'entitlements', attributes: { code: 'FEATURE_A' } })
    expect(Date.parse(ent.json.data.attributes.created)).not.toBeNaN()
    const pkg = cliSafe(await cli('GET', '/v1/packages/mypkg'))
    expect(pkg.status).toBe(200)
    expect(pkg.json.data.id).toBe(packageId)
    const res = cliSafe(
      await cli('POST', '/v1/releases', {
        data: {
          type: 'releases',
          attributes: {
            name: 'N',
            description: 'D',
            version: '1.0.0',
            tag: 'latest',
            channel: 'stable',
            metadata: { k: 'v' },
          },
          relationships: {
            constraints: {
              data: [
                {
                  type: 'constraints',
                  relationships: { entitlement: { data: { type: 'entitlements', id: entitlementId } } },
                },
              ],
            },
            package: { data: { type: 'packages', id: packageId } },
            product: { data: { type: 'products', id: productId } },
          },
        },
      }),
    )
    expect(res.status).toBe(201)
    expect(res.headers['content-type']).toBe('application/vnd.api+json; charset=utf-8')
    expect(res.json.data).toMatchObject({
      type: 'releases',
      attributes: {
        name: 'N',
        description: 'D',
        version: '1.0.0',
        tag: 'latest',
        channel: 'stable',
        status: 'DRAFT',
        metadata: { k: 'v' },
      },
      relationships: {
        package: { data: { type: 'packages', id: packageId } },
        product: { data: { type: 'products', id: productId } },
      },
    })
    releaseId = res.json.data.id
  })

  it('new (minimal, no package) drafts a beta release (§3.2)', async () => {
    const res = cliSafe(
      await cli('POST', '/v1/releases', {
        data: {
          type: 'releases',
          attributes: { version: '1.1.0-beta.1', tag: null, channel: 'beta' },
          relationships: { product: { data: { type: 'products', id: productId } } },
        },
      }),
    )
    expect(res.status).toBe(201)
    expect(res.json.data.attributes).toMatchObject({
      version: '1.1.0-beta.1',
      tag: null,
      channel: 'beta',
      status: 'DRAFT',
    })
    betaId = res.json.data.id
  })

  it('resolves releases when KEYGEN_HOST ends with a slash and the CLI sends //v1/… (§1)', async () => {
    const res = cliSafe(await cli('GET', `//v1/releases/1.1.0-beta.1?product=${productId}`))
    expect(res.status).toBe(200)
    expect(res.json.data.id).toBe(betaId)
    const list = cliSafe(await cli('GET', '//v1/releases?limit=1'))
    expect(list.json.links.self).toBe('/v1/releases?limit=1')
  })

  it('new with a duplicate version is a 422 VERSION_TAKEN the CLI prints (§4.1)', async () => {
    const res = cliSafe(
      await cli('POST', '/v1/releases', {
        data: {
          type: 'releases',
          attributes: { version: '1.1.0-beta.1', tag: null, channel: 'beta' },
          relationships: { product: { data: { type: 'products', id: productId } } },
        },
      }),
    )
    expect(res.status).toBe(422)
    expect(res.json.errors[0]).toEqual({
      title: 'Unprocessable resource',
      detail: 'version already exists',
      code: 'VERSION_TAKEN',
      source: { pointer: '/data/attributes/version' },
    })
  })

  it('new without --channel for a prerelease is a 422 VERSION_CHANNEL_INVALID', async () => {
    const res = cliSafe(
      await cli('POST', '/v1/releases', {
        data: {
          type: 'releases',
          attributes: { version: '2.0.0-beta.1', tag: null, channel: 'stable' },
          relationships: { product: { data: { type: 'products', id: productId } } },
        },
      }),
    )
    expect(res.status).toBe(422)
    expect(res.json.errors[0]).toMatchObject({
      code: 'VERSION_CHANNEL_INVALID',
      source: { pointer: '/data/attributes/version' },
    })
  })

  async function upload(attributes: Record<string, unknown>, _data: Buffer, release = releaseId) {
    const created = cliSafe(
      await cli('POST', '/v1/artifacts', {
        data: {
          type: 'artifacts',
          attributes,
          relationships: { release: { data: { type: 'releases', id: release } } },
        },
      }),
    )
    return created
  }

  it('upload: resolves the release, creates the artifact with 307 + Location, PUTs exactly 200 (§3.3)', async () => {
    const resolved = cliSafe(await cli('GET', `/v1/releases/1.0.0?package=mypkg&product=${productId}`))
    expect(resolved.status).toBe(200)
    expect(resolved.json.data.id).toBe(releaseId)
    const attributes = {
      filename: 'app-linux-amd64.tar.gz',
      filetype: '.gz',
      filesize: 102400,
      platform: 'linux',
      arch: 'amd64',
      checksum: SHA512_B64RAW,
    }
    const created = await upload(attributes, FILE)
    expect(created.status).toBe(307)
    const location = created.headers.location as string
    expect(location).toMatch(/^http:\/\//)
    expect(created.json.data).toMatchObject({ type: 'artifacts', attributes: { ...attributes, status: 'WAITING' } })
    expect(created.json.data.links.redirect).toBe(location)
    const put = await uploadPut(location, FILE)
    expect(put.status).toBe(200)
    // The bytes are served once the worker has verified them (write-once artifacts).
    expect(await processUpload(gw, created.json.data.id)).toBe('UPLOADED')
    const stored = Buffer.concat(
      await (await gw.blobs.read(`artifacts/${gw.account.id}/${releaseId}/app-linux-amd64.tar.gz`)).toArray(),
    )
    expect(createHash('sha256').update(stored).digest('hex')).toBe(SHA256_HEX)
  })

  it('upload of a zero-byte file: no filesize, chunked PUT with no Content-Length, also into S3 (§3.4)', async () => {
    const created = await upload(
      {
        filename: 'app-linux-amd64.tar.gz',
        filetype: '.gz',
        platform: 'linux',
        arch: 'amd64',
        checksum: EMPTY_SHA512,
      },
      Buffer.alloc(0),
      betaId,
    )
    expect(created.status).toBe(307)
    expect(created.json.data.attributes.filesize).toBeNull()
    const put = await uploadPut(created.headers.location as string, Buffer.alloc(0))
    expect(put.status).toBe(200)
    expect(await processUpload(gw, created.json.data.id)).toBe('UPLOADED')
    const info = await gw.blobs.stat(`artifacts/${gw.account.id}/${betaId}/app-linux-amd64.tar.gz`)
    expect(info.size).toBe(0)
  })

  it('upload checksum variants and --filetype/--metadata/--signing-key are accepted verbatim (§3.5–3.6)', async () => {
    for (const [filename, checksum] of [
      ['app-sha256-hex.tar.gz', SHA256_HEX],
      ['app-sha1-b64url.tar.gz', 'aeZNAJ79RRu8_b2jb1f9XKjUVlQ='],
      ['app-precomputed.tar.gz', SHA256_HEX],
    ]) {
      const created = await upload({ filename, filetype: '.gz', filesize: 102400, checksum }, FILE)
      expect(created.status).toBe(307)
      expect(created.json.data.attributes.checksum).toBe(checksum)
      expect((await uploadPut(created.headers.location as string, FILE)).status).toBe(200)
    }
    const signature = 'melQdoTQBXstyeDV8HPx/yLXWCbyHbhTHKfklYOFc992uPbeugOAonsHzQLA5VHNKN8Y554A6jwSrRTU8uo2Bg'
    const created = await upload(
      {
        filename: 'app.json',
        filetype: 'json',
        filesize: 102400,
        signature,
        checksum: SHA512_B64RAW,
        metadata: { build: 42 },
      },
      FILE,
    )
    expect(created.status).toBe(307)
    expect(created.json.data.attributes).toMatchObject({ filetype: 'json', signature, metadata: { build: 42 } })
    expect((await uploadPut(created.headers.location as string, FILE, 'application/json')).status).toBe(200)
  })

  it('publish, tag and untag resolve the release and answer 200 with the release (§3.7–3.9)', async () => {
    const path = `/v1/releases/1.0.0?package=mypkg&product=${productId}`
    expect(cliSafe(await cli('GET', path)).json.data.id).toBe(releaseId)
    const published = cliSafe(await cli('POST', `/v1/releases/${releaseId}/actions/publish`))
    expect(published.status).toBe(200)
    expect(published.json.data.attributes.status).toBe('PUBLISHED')
    const tagged = cliSafe(
      await cli('PATCH', `/v1/releases/${releaseId}`, {
        data: { type: 'releases', id: releaseId, attributes: { tag: 'stable' } },
      }),
    )
    expect(tagged.status).toBe(200)
    expect(tagged.json.data.attributes.tag).toBe('stable')
    expect(cliSafe(await cli('GET', `/v1/releases/stable?package=mypkg&product=${productId}`)).json.data.id).toBe(
      releaseId,
    )
    const untagged = cliSafe(
      await cli('PATCH', `/v1/releases/${releaseId}`, {
        data: { type: 'releases', id: releaseId, attributes: { tag: null } },
      }),
    )
    expect(untagged.status).toBe(200)
    expect(untagged.json.data.attributes.tag).toBeNull()
  })

  it('a wrong token is a 401 TOKEN_INVALID with a Bearer challenge (§4.2)', async () => {
    const res = cliSafe(
      await cliRequest(gw.url, `prod-${'0'.repeat(64)}v3`, 'GET', `/v1/releases/1.1.0-beta.1?product=${productId}`),
    )
    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Bearer realm="keygen"')
    expect(res.json.errors[0]).toMatchObject({ title: 'Unauthorized', code: 'TOKEN_INVALID' })
  })

  it('yank answers 200 with status YANKED (§3.10)', async () => {
    const res = cliSafe(await cli('POST', `/v1/releases/${releaseId}/actions/yank`))
    expect(res.status).toBe(200)
    expect(res.json.data.attributes.status).toBe('YANKED')
    expect(res.json.data.attributes.yanked).not.toBeNull()
  })

  it('del --artifact deletes by filename with ?release=<version> and no product filter, 204 (§3.11)', async () => {
    const res = cliSafe(await cli('DELETE', '/v1/artifacts/app-linux-amd64.tar.gz?release=1.0.0'))
    expect(res.status).toBe(204)
    await expect(gw.blobs.stat(`artifacts/${gw.account.id}/${releaseId}/app-linux-amd64.tar.gz`)).rejects.toThrow()
    // The beta release's artifact of the same name is untouched.
    await expect(gw.blobs.stat(`artifacts/${gw.account.id}/${betaId}/app-linux-amd64.tar.gz`)).resolves.toBeDefined()
  })

  it('del (release) deletes the release, its artifacts and their stored objects, 204 (§3.12)', async () => {
    expect(cliSafe(await cli('GET', `/v1/releases/1.0.0?package=mypkg&product=${productId}`)).status).toBe(200)
    const res = cliSafe(await cli('DELETE', `/v1/releases/${releaseId}`))
    expect(res.status).toBe(204)
    const left: string[] = []
    for await (const key of gw.blobs.list(`artifacts/${gw.account.id}/${releaseId}/`)) left.push(key)
    expect(left).toEqual([])
    const gone = cliSafe(await cli('GET', `/v1/releases/1.0.0?package=mypkg&product=${productId}`))
    expect(gone.status).toBe(404)
    expect(gone.json.errors[0]).toMatchObject({ title: 'Not found', code: 'NOT_FOUND' })
  })
})
