import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestGateway, type TestGateway } from '../helpers/app.ts'

const run = promisify(execFile)

/**
 * The whole path with real curl: a vendor uploads through the API's upload URL, the in-process worker verifies the
 * upload, and a customer downloads through the Raw engine with `curl -L` and a license key, on both stores.
 */
describe.each(['filesystem', 's3'] as const)('Raw engine with curl -L (%s storage)', (storage) => {
  let gw: TestGateway
  const dir = mkdtempSync(join(tmpdir(), 'pkgway-curl-'))
  const file = join(dir, 'app-linux-amd64.tar.gz')
  const KEY = 'CURL-E2E-LICENSE-KEY'

  const api = async (method: string, path: string, body?: unknown, token = gw.adminToken) => {
    const res = await fetch(`${gw.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/vnd.api+json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: 'manual',
    })
    // biome-ignore lint/suspicious/noExplicitAny: JSON:API documents
    const json: any = res.status === 204 ? undefined : await res.json()
    return { status: res.status, headers: res.headers, json }
  }

  beforeAll(async () => {
    writeFileSync(file, Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 31 + 7) % 256)))
    gw = await createTestGateway({
      listen: true,
      storage,
      config: { workers: { inProcess: true, pollIntervalMs: 50 } },
    })
    const product = await api('POST', '/v1/products', {
      data: { type: 'products', attributes: { name: 'App', code: 'app' } },
    })
    const productId = product.json.data.id
    const policy = await api('POST', '/v1/policies', {
      data: {
        type: 'policies',
        attributes: { name: 'Std', authenticationStrategy: 'LICENSE' },
        relationships: { product: { data: { type: 'products', id: productId } } },
      },
    })
    await api('POST', '/v1/licenses', {
      data: {
        type: 'licenses',
        attributes: { key: KEY },
        relationships: { policy: { data: { type: 'policies', id: policy.json.data.id } } },
      },
    })
    const release = await api('POST', '/v1/releases', {
      data: {
        type: 'releases',
        attributes: { version: '1.0.0', channel: 'stable', tag: 'latest' },
        relationships: { product: { data: { type: 'products', id: productId } } },
      },
    })
    const bytes = readFileSync(file)
    const artifact = await api('POST', '/v1/artifacts', {
      data: {
        type: 'artifacts',
        attributes: {
          filename: 'app-linux-amd64.tar.gz',
          filetype: '.gz',
          filesize: bytes.length,
          checksum: createHash('sha512').update(bytes).digest('base64').replace(/=+$/, ''),
        },
        relationships: { release: { data: { type: 'releases', id: release.json.data.id } } },
      },
    })
    expect(artifact.status).toBe(307)
    const { stdout } = await run('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-T',
      file,
      artifact.headers.get('location')!,
    ])
    expect(stdout).toBe('200')
    const deadline = Date.now() + 20_000
    let status = ''
    while (Date.now() < deadline) {
      status = (await api('GET', `/v1/artifacts/${artifact.json.data.id}?prefer=no-download`)).json.data.attributes
        .status
      if (status === 'UPLOADED' || status === 'FAILED') break
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(status).toBe('UPLOADED')
    expect((await api('POST', `/v1/releases/${release.json.data.id}/actions/publish`)).status).toBe(200)
  }, 60_000)
  afterAll(async () => {
    await gw?.close()
  })

  it('downloads the artifact in two hops with Basic license:KEY', async () => {
    const out = join(dir, `out-${storage}`)
    const { stdout } = await run('curl', [
      '-s',
      '-L',
      '-u',
      `license:${KEY}`,
      '-o',
      out,
      '-w',
      '%{http_code} %{num_redirects}',
      `${gw.url}/v1/engines/raw/app/latest/app-linux-amd64.tar.gz`,
    ])
    expect(stdout).toBe('200 2')
    expect(readFileSync(out).equals(readFileSync(file))).toBe(true)
  })

  it('downloads with ?auth=license:KEY carried across the hop', async () => {
    const out = join(dir, `out-q-${storage}`)
    const { stdout } = await run('curl', [
      '-s',
      '-L',
      '-o',
      out,
      '-w',
      '%{http_code}',
      `${gw.url}/v1/engines/raw/app/1.0.0/app-linux-amd64.tar.gz?auth=license:${KEY}`,
    ])
    expect(stdout).toBe('200')
    expect(readFileSync(out).equals(readFileSync(file))).toBe(true)
  })

  it('answers 404 without the key and 401 with a wrong one', async () => {
    const url = `${gw.url}/v1/engines/raw/app/1.0.0/app-linux-amd64.tar.gz`
    expect((await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-L', url])).stdout).toBe('404')
    expect(
      (await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-L', '-u', 'license:WRONG', url])).stdout,
    ).toBe('401')
  })

  it('serves byte ranges on the storage URL', async () => {
    const { stdout } = await run('curl', [
      '-s',
      '-L',
      '-u',
      `license:${KEY}`,
      '-r',
      '10-19',
      '-w',
      ' %{http_code}',
      '-o',
      join(dir, `range-${storage}`),
      `${gw.url}/v1/engines/raw/app/1.0.0/app-linux-amd64.tar.gz`,
    ])
    expect(stdout.trim()).toBe('206')
    expect(readFileSync(join(dir, `range-${storage}`)).equals(readFileSync(file).subarray(10, 20))).toBe(true)
  })
})
