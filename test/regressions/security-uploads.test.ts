import { createHash, randomBytes } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sealedKey } from '../../gateway/storage/keys.ts'
import { createTestGateway, type TestGateway } from '../helpers/app.ts'
import { artifactStatus, type CreatedUpload, createUpload, draftRelease, processUpload } from '../helpers/uploads.ts'

/**
 * Issue 10, tried from outside as an attacker would, on both stores: verified bytes can never be replaced, no reader
 * sees unverified bytes under a served key, and uploads are bounded in size and in time.
 */

const MAX_UPLOAD = 64 * 1024
const IDLE_MS = 300
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

interface Answer {
  status: number
  body: Buffer
  headers: Record<string, string | string[] | undefined>
}

/** put sends a PUT with a body, with Content-Length or (chunked) without, and reads the whole answer. */
function put(url: string, body: Buffer, opts: { chunked?: boolean } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(url)
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' }
    if (!opts.chunked) headers['content-length'] = String(body.length)
    const req = httpRequest(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'PUT', headers },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks), headers: res.headers }))
      },
    )
    req.on('error', reject)
    // Sent in pieces, so a refusal can arrive while the client still writes.
    for (let i = 0; i < body.length; i += 16 * 1024) req.write(body.subarray(i, i + 16 * 1024))
    req.end()
  })
}

const errorCode = (a: Answer) => JSON.parse(a.body.toString()).errors[0].code

describe.each(['filesystem', 's3'] as const)('write-once, bounded uploads (%s storage)', (storage) => {
  let gw: TestGateway
  let releaseId: string
  let n = 0
  const upload = (attributes: { filesize?: number; checksum?: string } = {}) =>
    createUpload(gw, releaseId, { filename: `app-${++n}.bin`, ...attributes })
  const stored = async (key: string) => {
    try {
      return Buffer.concat(await (await gw.blobs.read(key)).toArray())
    } catch {
      return null
    }
  }
  const uploadKey = (u: CreatedUpload) => `uploads/${gw.account.id}/${releaseId}/${u.id}`
  /** servedUrl is a download URL of the served key, as one handed out earlier would be (it may 404 for now). */
  const servedUrl = async (u: CreatedUpload) => {
    const url = await gw.blobs.redirectUrl(u.served, 'GET', { baseUrl: `${gw.url}/` })
    return new URL(url, gw.url).toString()
  }

  beforeAll(async () => {
    gw = await createTestGateway({
      listen: true,
      storage,
      config: { storage: { maxUploadSize: MAX_UPLOAD, uploadIdleTimeoutMs: IDLE_MS } },
    })
    releaseId = (await draftRelease(gw)).releaseId
  })
  afterAll(async () => {
    await gw?.close()
  })

  it.each([
    ['declared', true],
    ['undeclared', false],
  ])('a second PUT after verification cannot replace the bytes (size %s)', async (_label, sized) => {
    const good = randomBytes(4000)
    const u = await upload({ checksum: sha256(good), ...(sized ? { filesize: good.length } : {}) })
    expect((await put(u.url, good)).status).toBe(200)
    expect(await processUpload(gw, u.id)).toBe('UPLOADED')
    const download = await servedUrl(u)
    expect(sha256(Buffer.from(await (await fetch(download)).arrayBuffer()))).toBe(sha256(good))

    // Uploads go through the gateway's own route on every store (S3 too), so the second PUT is refused.
    const again = await put(u.url, randomBytes(4000))
    expect(again.status).toBe(409)
    expect(errorCode(again)).toBe('UPLOAD_CLOSED')
    expect(await processUpload(gw, u.id)).toBe('UPLOADED')
    expect(sha256(Buffer.from(await (await fetch(download)).arrayBuffer()))).toBe(sha256(good))
    expect(sha256((await stored(u.served))!)).toBe(sha256(good))
  })

  it('a reader racing the PUT and the verification never sees unverified bytes under the served key', async () => {
    const good = randomBytes(50_000)
    const bad = randomBytes(50_000)
    const u = await upload({ filesize: good.length, checksum: sha256(good) })
    const url = await servedUrl(u)
    const seen = new Map<string, number>()
    let reading = true
    // s3rver copies an object with a plain file copy, so a GET racing the promotion's CopyObject may read the
    // first bytes of the verified object (S3's CopyObject is atomic). Those are counted apart, and must be a strict
    // prefix of the verified bytes; the filesystem store renames into place and never shows one.
    const partialOfGood = (body: Buffer) =>
      storage === 's3' && body.length < good.length && good.subarray(0, body.length).equals(body)
    const reader = (async () => {
      while (reading) {
        const res = await fetch(url)
        const body = Buffer.from(await res.arrayBuffer())
        const what = res.status !== 200 ? String(res.status) : partialOfGood(body) ? 'partial' : sha256(body)
        seen.set(what, (seen.get(what) ?? 0) + 1)
      }
    })()
    // The attacker's bytes (the right size, not the declared checksum) fail and are never served...
    expect((await put(u.url, bad)).status).toBe(200)
    expect(await processUpload(gw, u.id)).toBe('FAILED')
    expect(await stored(u.served)).toBeNull()
    // ...and a verified artifact of the same name is served only once verified, with exactly its bytes.
    await fetch(`${gw.url}/v1/artifacts/${u.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${gw.adminToken}` },
    })
    const v = await createUpload(gw, releaseId, { filename: u.served.split('/').pop()!, checksum: sha256(good) })
    expect((await put(v.url, good)).status).toBe(200)
    expect(await processUpload(gw, v.id)).toBe('UPLOADED')
    await new Promise((resolve) => setTimeout(resolve, 50))
    reading = false
    await reader
    expect(seen.get(sha256(bad))).toBeUndefined()
    seen.delete('partial')
    expect([...seen.keys()].sort()).toEqual([sha256(good), '404'].sort())
  })

  it('refuses an upload larger than the declared size, or than storage.maxUploadSize, before storing it', async () => {
    // Chunked, so the size shows only while the bytes arrive: cut off at the configured maximum.
    const unsized = await upload()
    const tooBig = await put(unsized.url, randomBytes(MAX_UPLOAD + 40_000), { chunked: true })
    expect(tooBig.status).toBe(413)
    expect(errorCode(tooBig)).toBe('UPLOAD_TOO_LARGE')
    expect(await stored(uploadKey(unsized))).toBeNull()
    expect(await artifactStatus(gw, unsized.id)).toEqual({
      status: 'FAILED',
      reason: `upload failed: The upload is larger than the ${MAX_UPLOAD} bytes it may have`,
    })

    // A Content-Length over the limit is refused before a byte is read, and the artifact still waits.
    const declared = await upload()
    const refused = await put(declared.url, randomBytes(MAX_UPLOAD + 1))
    expect(refused.status).toBe(413)
    expect((await artifactStatus(gw, declared.id)).status).toBe('WAITING')
    expect((await put(declared.url, Buffer.from('fits'))).status).toBe(200)

    // A declared size bounds the PUT the same way, on every store.
    const sized = await upload({ filesize: 1000 })
    const longer = await put(sized.url, randomBytes(2000))
    expect(longer.status).toBe(413)
    expect((await artifactStatus(gw, sized.id)).status).toBe('WAITING')
    expect(await stored(sized.served)).toBeNull()
  })

  it('ends an upload that stalls with 408 UPLOAD_TIMEOUT, stores nothing and fails the artifact', async () => {
    const u = await upload()
    const target = new URL(u.url)
    const started = Date.now()
    const answer = await new Promise<string>((resolve) => {
      const socket = net.connect(Number(target.port), target.hostname)
      let out = ''
      socket.setEncoding('latin1')
      socket.on('data', (d) => {
        out += d
      })
      socket.on('close', () => resolve(out))
      socket.write(
        `PUT ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nContent-Length: 1000\r\n\r\n`,
      )
      socket.write('ten bytes.')
    })
    expect(Date.now() - started).toBeGreaterThanOrEqual(IDLE_MS)
    expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/)
    expect(answer.toLowerCase()).toContain('connection: close\r\n')
    expect(answer).toContain('"code":"UPLOAD_TIMEOUT"')
    expect(await stored(uploadKey(u))).toBeNull()
    expect(await stored(sealedKey(uploadKey(u)))).toBeNull()
    const { status, reason } = await artifactStatus(gw, u.id)
    expect(status).toBe('FAILED')
    expect(reason).toBe('upload failed: No upload data arrived for 0.3 seconds; the upload was ended')
  })

  it('bounds how long a request and its headers may take', () => {
    expect(gw.app.server.requestTimeout).toBe(3_600_000)
    expect(gw.app.server.headersTimeout).toBe(30_000)
  })
})
