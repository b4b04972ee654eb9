import { createHash, randomBytes } from 'node:crypto'
import { readdir, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { join } from 'node:path'
import { text } from 'node:stream/consumers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { signedBlobUrl } from '../../gateway/storage/signed-url.ts'
import { curl } from '../gateway/curl.ts'
import type { FilesystemStore } from '../../gateway/storage/filesystem-store.ts'
import { createTestGateway, type TestGateway } from '../helpers/app.ts'
import { artifactStatus, createUpload, draftRelease } from '../helpers/uploads.ts'

const JSON_API = 'application/vnd.api+json; charset=utf-8'
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

let gw: TestGateway
let store: FilesystemStore
let baseUrl: string
let port: number
let n = 0

beforeAll(async () => {
  gw = await createTestGateway({ storage: 'filesystem', listen: true })
  store = gw.blobs as FilesystemStore
  baseUrl = `${gw.url}/`
  port = Number(new URL(gw.url).port)
})

afterAll(async () => {
  await gw?.close()
})

/** A fresh key per test, so tests never see each other's objects. */
const freshKey = (name = 'app-1.0.0.tar.gz') => `artifacts/acct/release-${++n}/${name}`
const uploadUrl = (key: string) => gw.blobs.uploadUrl(key, { baseUrl })
const downloadUrl = (key: string, filename?: string) => gw.blobs.redirectUrl(key, 'GET', { baseUrl, filename })

async function fileWith(content: Buffer): Promise<string> {
  const path = join(store.root, '..', `upload-${++n}.bin`)
  await writeFile(path, content)
  return path
}

async function stored(key: string): Promise<Buffer | null> {
  try {
    return Buffer.concat(await (await gw.blobs.read(key)).toArray())
  } catch {
    return null
  }
}

/**
 * rawRequest writes bytes to the server exactly as given and returns whatever comes back before the socket closes,
 * or before the client hangs up after closeAfterMs (10 s unless given).
 */
function rawRequest(chunks: Array<string | Buffer>, opts: { closeAfterMs?: number } = {}): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    const hangUp = setTimeout(() => socket.destroy(), opts.closeAfterMs ?? 10_000)
    let out = ''
    socket.setEncoding('latin1')
    socket.on('data', (d) => {
      out += d
    })
    socket.on('close', () => {
      clearTimeout(hangUp)
      resolve(out)
    })
    socket.on('error', () => {})
    for (const chunk of chunks) socket.write(chunk)
  })
}

function requestTarget(url: string): string {
  const u = new URL(url)
  return `${u.pathname}${u.search}`
}

function expectJsonApiError(res: { headers: Record<string, string>; body: Buffer }, code: string) {
  expect(res.headers['content-type']).toBe(JSON_API)
  const doc = JSON.parse(res.body.toString())
  expect(doc.meta.id).toBe(res.headers['x-request-id'])
  expect(doc.errors).toHaveLength(1)
  expect(doc.errors[0]).toMatchObject({ code, title: expect.any(String), detail: expect.any(String) })
}

async function tmpLeftovers(): Promise<string[]> {
  return readdir(join(store.root, '.tmp')).catch(() => [])
}

describe('PUT /v1/blobs/* (signed upload URL)', () => {
  let releaseId: string
  beforeAll(async () => {
    releaseId = (await draftRelease(gw)).releaseId
  })

  /** newUpload creates an artifact through the API and returns its upload URL and the key the URL names. */
  async function newUpload(filesize?: number) {
    const created = await createUpload(gw, releaseId, { filename: `app-${++n}.tar.gz`, filesize })
    const key = decodeURIComponent(new URL(created.url).pathname.replace(/^\/v1\/blobs\//, ''))
    expect(key).toBe(`uploads/${gw.account.id}/${releaseId}/${created.id}`)
    return { ...created, key }
  }

  it('answers exactly 200 to curl -T and stores the bytes at the upload key only', async () => {
    const body = randomBytes(100 * 1024)
    const upload = await newUpload(body.length)
    const res = await curl(['-T', await fileWith(body), upload.url])
    expect(res.status).toBe(200)
    expect(res.body.length).toBe(0)
    expect(res.headers.etag).toMatch(/^".+"$/)
    expect(sha256((await stored(upload.key))!)).toBe(sha256(body))
    expect(await stored(upload.served)).toBeNull()
    expect(await artifactStatus(gw, upload.id)).toEqual({ status: 'PROCESSING', reason: null })
  })

  it('answers 200 to a Go-style PUT with Content-Type: application/octet-stream', async () => {
    const body = randomBytes(4096)
    const upload = await newUpload(body.length)
    const res = await curl([
      '-X',
      'PUT',
      '-H',
      'Content-Type: application/octet-stream',
      '-H',
      'User-Agent: Go-http-client/1.1',
      '-H',
      'Accept-Encoding: gzip',
      '--data-binary',
      `@${await fileWith(body)}`,
      upload.url,
    ])
    expect(res.status).toBe(200)
    expect((await stored(upload.key))!.equals(body)).toBe(true)
  })

  it('answers 200 to an empty chunked body, as the keygen CLI sends for zero-byte files', async () => {
    const upload = await newUpload()
    const res = await rawRequest([
      `PUT ${requestTarget(upload.url)} HTTP/1.1\r\n` +
        `Host: 127.0.0.1:${port}\r\nUser-Agent: Go-http-client/1.1\r\nTransfer-Encoding: chunked\r\n` +
        'Content-Type: application/octet-stream\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n0\r\n\r\n',
    ])
    expect(res).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    expect((await gw.blobs.stat(upload.key)).size).toBe(0)
  })

  it('answers 200 to a chunked body with data and to a PUT without Content-Type', async () => {
    const chunked = await newUpload()
    const res = await rawRequest([
      `PUT ${requestTarget(chunked.url)} HTTP/1.1\r\n` +
        `Host: 127.0.0.1:${port}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
        '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
    ])
    expect(res).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    expect((await stored(chunked.key))!.toString()).toBe('hello world')

    const bare = await newUpload(3)
    const res2 = await rawRequest([
      `PUT ${requestTarget(bare.url)} HTTP/1.1\r\n` +
        `Host: 127.0.0.1:${port}\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc`,
    ])
    expect(res2).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    expect((await stored(bare.key))!.toString()).toBe('abc')
  })

  it('accepts bodies larger than the JSON body limit', async () => {
    const body = randomBytes(3 * 1024 * 1024)
    const upload = await newUpload(body.length)
    const res = await curl(['-T', await fileWith(body), upload.url])
    expect(res.status).toBe(200)
    expect(sha256((await stored(upload.key))!)).toBe(sha256(body))
  })

  it('stores nothing when the body is longer than Content-Length', async () => {
    const upload = await newUpload()
    const res = await rawRequest([
      `PUT ${requestTarget(upload.url)} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 5\r\n\r\nhello, and some more bytes`,
    ])
    expect(res).not.toMatch(/^HTTP\/1\.1 200/)
    await expect.poll(() => tmpLeftovers()).toEqual([])
    expect(await stored(upload.served)).toBeNull()
  })

  it('stores nothing when the upload is cut off before Content-Length bytes arrived, and fails the artifact', async () => {
    const upload = await newUpload(100_000)
    await rawRequest(
      [
        `PUT ${requestTarget(upload.url)} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 100000\r\n\r\n`,
        randomBytes(50_000),
      ],
      { closeAfterMs: 200 },
    )
    await expect.poll(() => tmpLeftovers()).toEqual([])
    expect(await stored(upload.key)).toBeNull()
    await expect.poll(async () => (await artifactStatus(gw, upload.id)).status).toBe('FAILED')
    expect((await artifactStatus(gw, upload.id)).reason).toMatch(/^upload failed: The client closed the connection/)
  })

  it('answers 409 to a second PUT and keeps the first upload', async () => {
    const upload = await newUpload(8)
    expect((await curl(['-T', await fileWith(Buffer.from('original')), upload.url])).status).toBe(200)
    const again = await curl(['-T', await fileWith(Buffer.from('replaced')), upload.url])
    expect(again.status).toBe(409)
    expectJsonApiError(again, 'UPLOAD_CLOSED')
    expect(again.headers.connection).toBe('close')
    expect((await stored(upload.key))!.toString()).toBe('original')
  })

  it('answers 404 to a validly signed PUT for a key no artifact waits on', async () => {
    const res = await curl(['-T', await fileWith(Buffer.from('x')), await uploadUrl(freshKey())])
    expect(res.status).toBe(404)
    expectJsonApiError(res, 'UPLOAD_NOT_FOUND')
  })

  it('rejects a PUT with a download (GET) signature with 403', async () => {
    const key = freshKey()
    const res = await curl(['-T', await fileWith(Buffer.from('x')), await downloadUrl(key)])
    expect(res.status).toBe(403)
    expectJsonApiError(res, 'SIGNATURE_INVALID')
    expect(await stored(key)).toBeNull()
  })

  it('rejects an expired upload URL with 403', async () => {
    const key = freshKey()
    const url = signedBlobUrl(gw.config.signingSecret!, baseUrl, 'PUT', key, -60)
    const res = await curl(['-T', await fileWith(Buffer.from('x')), url])
    expect(res.status).toBe(403)
    expectJsonApiError(res, 'SIGNATURE_EXPIRED')
    expect(await stored(key)).toBeNull()
  })
})

describe('GET /v1/blobs/* (signed download URL)', () => {
  let key: string
  let body: Buffer
  beforeAll(async () => {
    key = freshKey('dir/app 1.0+build.tar.gz')
    body = randomBytes(10_000)
    await gw.blobs.write(key, body)
  })

  it('streams the object with ETag, Content-Length and Accept-Ranges', async () => {
    const res = await curl([await downloadUrl(key)])
    expect(res.status).toBe(200)
    expect(res.body.equals(body)).toBe(true)
    expect(res.headers['content-length']).toBe(String(body.length))
    expect(res.headers['accept-ranges']).toBe('bytes')
    expect(res.headers.etag).toBe((await gw.blobs.stat(key)).etag)
    expect(res.headers['cache-control']).toBe('private, max-age=0')
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('answers a Range request with 206 and Content-Range', async () => {
    const res = await curl(['-r', '10-19', await downloadUrl(key)])
    expect(res.status).toBe(206)
    expect(res.headers['content-range']).toBe(`bytes 10-19/${body.length}`)
    expect(res.body.equals(body.subarray(10, 20))).toBe(true)

    const suffix = await curl(['-H', 'Range: bytes=-100', await downloadUrl(key)])
    expect(suffix.status).toBe(206)
    expect(suffix.headers['content-range']).toBe(`bytes ${body.length - 100}-${body.length - 1}/${body.length}`)
    expect(suffix.body.equals(body.subarray(body.length - 100))).toBe(true)

    const beyond = await curl(['-H', `Range: bytes=${body.length}-`, await downloadUrl(key)])
    expect(beyond.status).toBe(416)
    expect(beyond.headers['content-range']).toBe(`bytes */${body.length}`)
  })

  it('answers 304 when If-None-Match carries the current ETag', async () => {
    const { etag } = await gw.blobs.stat(key)
    const res = await curl(['-H', `If-None-Match: ${etag}`, await downloadUrl(key)])
    expect(res.status).toBe(304)
    expect(res.body.length).toBe(0)
    const stale = await curl(['-H', 'If-None-Match: "something-else"', await downloadUrl(key)])
    expect(stale.status).toBe(200)
  })

  it('answers HEAD with the headers and no body', async () => {
    const res = await curl(['-I', await downloadUrl(key)])
    expect(res.status).toBe(200)
    expect(res.headers['content-length']).toBe(String(body.length))
    expect(res.headers.etag).toBe((await gw.blobs.stat(key)).etag)
    // curl -I prints headers as its output, so read the bytes on the wire for "no body".
    const raw = await rawRequest([
      `HEAD ${requestTarget(await downloadUrl(key))} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
    ])
    expect(raw).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    expect(raw.toLowerCase()).toContain(`content-length: ${body.length}\r\n`)
    expect(raw.endsWith('\r\n\r\n')).toBe(true)
  })

  it('sets Content-Disposition from the signed filename', async () => {
    const res = await curl([await downloadUrl(key, 'dir/app 1.0+build.tar.gz')])
    expect(res.status).toBe(200)
    expect(res.headers['content-disposition']).toBe(
      `attachment; filename="app 1.0+build.tar.gz"; filename*=UTF-8''app%201.0%2Bbuild.tar.gz`,
    )
  })

  it('rejects an expired signature with 403', async () => {
    const res = await curl([signedBlobUrl(gw.config.signingSecret!, baseUrl, 'GET', key, -1)])
    expect(res.status).toBe(403)
    expectJsonApiError(res, 'SIGNATURE_EXPIRED')
  })

  it('rejects a tampered signature, a moved expiry, a missing signature and another key with 403', async () => {
    const good = new URL(await downloadUrl(key))
    const sig = good.searchParams.get('sig')!
    const tampered = new URL(good)
    tampered.searchParams.set('sig', `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`)
    const later = new URL(good)
    later.searchParams.set('expires', String(Number(good.searchParams.get('expires')) + 3600))
    const unsigned = new URL(good)
    unsigned.searchParams.delete('sig')
    const otherKey = new URL(good)
    otherKey.pathname = otherKey.pathname.replace(/release-\d+/, 'release-0')
    for (const url of [tampered, later, unsigned, otherKey]) {
      const res = await curl([url.toString()])
      expect(res.status, url.toString()).toBe(403)
      expectJsonApiError(res, 'SIGNATURE_INVALID')
    }
  })

  it('rejects a GET with an upload (PUT) signature with 403', async () => {
    const res = await curl([await uploadUrl(key)])
    expect(res.status).toBe(403)
    expectJsonApiError(res, 'SIGNATURE_INVALID')
  })

  it.each([
    ['%2e%2e segments', '/v1/blobs/artifacts/%2e%2e/%2e%2e/etc/passwd'],
    ['.. segments', '/v1/blobs/artifacts/../../etc/passwd'],
    ['encoded slashes', '/v1/blobs/artifacts%2F..%2F..%2Fetc%2Fpasswd'],
    ['a NUL byte', '/v1/blobs/artifacts/%00/x'],
  ])('answers a key with %s in JSON:API, never 500', async (_name, path) => {
    const url = new URL(await downloadUrl(key))
    const res = await curl(['--path-as-is', `${baseUrl.replace(/\/$/, '')}${path}${url.search}`])
    expect([403, 404]).toContain(res.status)
    expectJsonApiError(res, res.status === 403 ? 'SIGNATURE_INVALID' : 'NOT_FOUND')
  })

  it('answers 404 in JSON:API for a validly signed URL of a missing object', async () => {
    const res = await curl([await downloadUrl(freshKey())])
    expect(res.status).toBe(404)
    expectJsonApiError(res, 'BLOB_NOT_FOUND')
  })

  it('answers 404 in JSON:API to methods it does not serve', async () => {
    const res = await curl(['-X', 'DELETE', await downloadUrl(key)])
    expect(res.status).toBe(404)
    expectJsonApiError(res, 'NOT_FOUND')
    expect(await text(await gw.blobs.read(key))).toBe(body.toString())
  })
})
