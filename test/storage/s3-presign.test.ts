import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { S3Store, type S3StoreOptions } from '../../gateway/storage/s3-store.ts'
import { curl } from '../gateway/curl.ts'
import { type S3Server, s3Credentials, startS3rver } from '../helpers/s3rver.ts'

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const NO_BASE = { baseUrl: 'http://unused.invalid/' }

let server: S3Server
let dir: string
let store: S3Store
let n = 0

function makeStore(extra: Partial<S3StoreOptions> = {}): S3Store {
  return new S3Store({
    bucket: server.bucket,
    region: 'us-east-1',
    endpoint: server.endpoint,
    forcePathStyle: true,
    ...s3Credentials,
    prefix: 'pkgway',
    presignTtl: 900,
    uploadTtl: 3600,
    ...extra,
  })
}

beforeAll(async () => {
  server = await startS3rver()
  dir = await mkdtemp(join(tmpdir(), 'pkgway-presign-'))
  store = makeStore()
})
afterAll(async () => {
  await server?.close()
  await rm(dir, { recursive: true, force: true })
})

const freshKey = (name = 'app 1.0+build.tar.gz') => `artifacts/acct/release-${++n}/${name}`

async function fileWith(content: Buffer): Promise<string> {
  const path = join(dir, `body-${++n}`)
  await writeFile(path, content)
  return path
}

describe('S3Store presigned URLs (s3rver on 127.0.0.2)', () => {
  it('uploads with curl -T to the presigned PUT URL and downloads with curl from the presigned GET URL', async () => {
    const key = freshKey()
    const body = randomBytes(200_000)
    const put = await curl(['-T', await fileWith(body), await store.uploadUrl(key, NO_BASE)])
    expect(put.status).toBe(200)
    expect((await store.stat(key)).size).toBe(body.length)

    const get = await curl([await store.redirectUrl(key, 'GET', NO_BASE)])
    expect(get.status).toBe(200)
    expect(sha256(get.body)).toBe(sha256(body))
    await store.delete(key)
  })

  it('accepts the Go-style upload of the keygen CLI (Content-Type: application/octet-stream)', async () => {
    const key = freshKey()
    const put = await curl([
      '-X',
      'PUT',
      '-H',
      'Content-Type: application/octet-stream',
      '-H',
      'User-Agent: Go-http-client/1.1',
      '--data-binary',
      `@${await fileWith(Buffer.from('go bytes'))}`,
      await store.uploadUrl(key, NO_BASE),
    ])
    expect(put.status).toBe(200)
    expect((await store.stat(key)).size).toBe(8)
    await store.delete(key)
  })

  it('signs only the host: no checksum parameters and no signed Content-Type', async () => {
    const key = freshKey()
    for (const url of [
      await store.uploadUrl(key, NO_BASE),
      await store.redirectUrl(key, 'GET', NO_BASE),
      await store.redirectUrl(key, 'HEAD', NO_BASE),
    ]) {
      const params = new URL(url).searchParams
      const names = [...params.keys()].map((k) => k.toLowerCase())
      expect(names).not.toContain('x-amz-checksum-crc32')
      expect(names).not.toContain('x-amz-sdk-checksum-algorithm')
      expect(names).not.toContain('x-amz-checksum-mode')
      expect(names.some((k) => k.startsWith('x-amz-checksum'))).toBe(false)
      expect(params.get('X-Amz-SignedHeaders')).toBe('host')
      expect(params.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256')
    }
  })

  it('signs a declared size as Content-Length, so S3 refuses a PUT of any other length', async () => {
    // s3rver does not check V4 signatures; real S3 answers 403 SignatureDoesNotMatch to any other length.
    const key = freshKey()
    const body = randomBytes(1000)
    const url = await store.uploadUrl(key, { ...NO_BASE, size: body.length })
    expect(new URL(url).searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;host')
    expect((await curl(['-T', await fileWith(body), url])).status).toBe(200)
    expect((await store.stat(key)).size).toBe(body.length)
    await store.delete(key)
  })

  it('uses the store TTLs as X-Amz-Expires unless a ttl is given', async () => {
    const key = freshKey()
    expect(new URL(await store.uploadUrl(key, NO_BASE)).searchParams.get('X-Amz-Expires')).toBe('3600')
    expect(new URL(await store.redirectUrl(key, 'GET', NO_BASE)).searchParams.get('X-Amz-Expires')).toBe('900')
    expect(
      new URL(await store.redirectUrl(key, 'GET', { ...NO_BASE, ttl: 30 })).searchParams.get('X-Amz-Expires'),
    ).toBe('30')
  })

  it('puts the bucket prefix and the escaped key into the path', async () => {
    const key = freshKey()
    const url = new URL(await store.redirectUrl(key, 'GET', NO_BASE))
    expect(url.origin).toBe(server.endpoint)
    expect(decodeURIComponent(url.pathname)).toBe(`/${server.bucket}/pkgway/${key}`)
  })

  it('answers a Range request on the presigned GET with 206', async () => {
    const key = freshKey()
    const body = randomBytes(5000)
    await store.write(key, body)
    const res = await curl(['-r', '10-19', await store.redirectUrl(key, 'GET', NO_BASE)])
    expect(res.status).toBe(206)
    expect(res.headers['content-range']).toBe(`bytes 10-19/${body.length}`)
    expect(res.body.equals(body.subarray(10, 20))).toBe(true)
    await store.delete(key)
  })

  it('answers HEAD on the presigned HEAD URL and sets Content-Disposition from the filename', async () => {
    const key = freshKey()
    await store.write(key, Buffer.from('0123456789'))
    const head = await curl(['-I', await store.redirectUrl(key, 'HEAD', NO_BASE)])
    expect(head.status).toBe(200)
    expect(head.headers['content-length']).toBe('10')
    const get = await curl([await store.redirectUrl(key, 'GET', { ...NO_BASE, filename: 'app 1.0+build.tar.gz' })])
    expect(get.headers['content-disposition']).toBe(
      `attachment; filename="app 1.0+build.tar.gz"; filename*=UTF-8''app%201.0%2Bbuild.tar.gz`,
    )
    await store.delete(key)
  })

  it('answers 403 once a presigned URL has expired', async () => {
    const key = freshKey()
    await store.write(key, Buffer.from('x'))
    const url = await store.redirectUrl(key, 'GET', { ...NO_BASE, ttl: 1 })
    await new Promise((resolve) => setTimeout(resolve, 2100))
    expect((await curl([url])).status).toBe(403)
    await store.delete(key)
  })

  it('writes publicEndpoint into presigned URLs, which then reach the same bucket', async () => {
    const port = new URL(server.endpoint).port
    const publicStore = makeStore({ publicEndpoint: `http://localhost:${port}` })
    const key = freshKey()
    const url = new URL(await publicStore.uploadUrl(key, NO_BASE))
    expect(url.host).toBe(`localhost:${port}`)
    const get = new URL(await publicStore.redirectUrl(key, 'GET', NO_BASE))
    expect(get.host).toBe(`localhost:${port}`)

    // Clients resolve the public name to the server (s3rver reads any other host name as a CNAME bucket, so the
    // public name here is `localhost`); the store itself keeps talking to `endpoint`.
    const resolve = ['--resolve', `localhost:${port}:127.0.0.2`]
    expect((await curl([...resolve, '-T', await fileWith(Buffer.from('public')), url.toString()])).status).toBe(200)
    expect((await publicStore.stat(key)).size).toBe(6)
    const res = await curl([...resolve, get.toString()])
    expect(res.status).toBe(200)
    expect(res.body.toString()).toBe('public')
    await publicStore.delete(key)
  })
})
