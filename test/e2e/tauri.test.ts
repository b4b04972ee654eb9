import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestGateway, type TestGateway } from '../helpers/app.ts'
import { trustedComment, updaterProblems } from '../engines/tauri/updater-schema.ts'

const run = promisify(execFile)

/**
 * A Tauri update, end to end with real tools: a vendor signs two bundles with minisign (the format `tauri signer`
 * writes), uploads them through the API's upload URLs and the in-process worker, one with its signature as the
 * artifact's `signature` attribute (base64 of the .minisig file, as Tauri expects) and one with a sibling
 * `<bundle>.sig` file instead; then the "updater" (curl with the updater's headers) checks for an update,
 * follows `url` with `curl -L`, and `minisign -V` verifies the downloaded bytes against the returned signature.
 * On SQLite with filesystem storage and on PostgreSQL with S3 (s3rver).
 */

const KEY = 'TAURI-E2E-LICENSE-KEY'
const UA = 'tauri-plugin-updater/2.9.0'
const LINUX = 'myapp_1.1.0_amd64.AppImage.tar.gz'
const MAC = 'myapp_aarch64.app.tar.gz'

describe.each([
  { setup: 'SQLite + filesystem', catalog: 'sqlite', storage: 'filesystem' },
  { setup: 'PostgreSQL + s3rver', catalog: 'postgres', storage: 's3' },
] as const)('Tauri updater end to end ($setup)', { timeout: 60_000 }, ({ catalog, storage }) => {
  let gw: TestGateway
  const dir = mkdtempSync(join(tmpdir(), 'pkgway-tauri-'))
  const path = (name: string) => join(dir, name)
  let endpoint: string

  const api = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${gw.url}${url}`, {
      method,
      headers: { authorization: `Bearer ${gw.adminToken}`, 'content-type': 'application/vnd.api+json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: 'manual',
    })
    // biome-ignore lint/suspicious/noExplicitAny: JSON:API documents
    const json: any = res.status === 204 ? undefined : await res.json()
    return { status: res.status, headers: res.headers, json }
  }
  const create = async (type: string, attributes: object, relationships: object = {}) => {
    const res = await api('POST', `/v1/${type}`, { data: { type, attributes, relationships } })
    expect(res.status, `${type}: ${JSON.stringify(res.json)}`).toBe(201)
    return res.json.data.id as string
  }
  const rel = (type: string, id: string) => ({ data: { type, id } })

  /** upload creates an artifact and PUTs its bytes with curl to the returned URL, then waits for the worker. */
  async function upload(release: string, file: string, attributes: Record<string, unknown>) {
    const bytes = readFileSync(path(file))
    const created = await api('POST', '/v1/artifacts', {
      data: {
        type: 'artifacts',
        attributes: {
          filename: file,
          filesize: bytes.length,
          checksum: createHash('sha512').update(bytes).digest('base64').replace(/=+$/, ''),
          ...attributes,
        },
        relationships: { release: rel('releases', release) },
      },
    })
    expect(created.status, JSON.stringify(created.json)).toBe(307)
    const put = await run('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-T',
      path(file),
      created.headers.get('location')!,
    ])
    expect(put.stdout).toBe('200')
    const deadline = Date.now() + 20_000
    let status = ''
    while (Date.now() < deadline) {
      status = (await api('GET', `/v1/artifacts/${created.json.data.id}?prefer=no-download`)).json.data.attributes
        .status
      if (status === 'UPLOADED' || status === 'FAILED') break
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(status, file).toBe('UPLOADED')
  }

  /** sign signs a file as `tauri signer sign` does (minisign, trusted comment naming the version). */
  async function sign(file: string, version: string): Promise<string> {
    const comment = `timestamp:${Math.floor(Date.now() / 1000)}\tfile:${file}\tversion:${version}`
    await run('minisign', ['-S', '-s', path('key.sec'), '-m', path(file), '-x', path(`${file}.minisig`), '-t', comment])
    return readFileSync(path(`${file}.minisig`)).toString('base64')
  }

  beforeAll(async () => {
    await run('minisign', ['-G', '-W', '-p', path('key.pub'), '-s', path('key.sec')])
    writeFileSync(path(LINUX), randomBytes(300_000))
    writeFileSync(path(MAC), randomBytes(120_000))
    const linuxSignature = await sign(LINUX, '1.1.0')
    writeFileSync(path(`${MAC}.sig`), await sign(MAC, '1.1.0')) // what `tauri signer sign` leaves beside the bundle

    gw = await createTestGateway({
      catalog,
      storage,
      listen: true,
      config: { workers: { inProcess: true, pollIntervalMs: 50 } },
    })
    const product = await create('products', { name: 'My App', code: 'myapp' })
    const policy = await create(
      'policies',
      { name: 'Std', authenticationStrategy: 'LICENSE' },
      { product: rel('products', product) },
    )
    await create('licenses', { key: KEY }, { policy: rel('policies', policy) })
    const pkg = await create(
      'packages',
      { name: 'My App', key: 'myapp', engine: 'tauri' },
      { product: rel('products', product) },
    )
    for (const version of ['1.0.0', '1.1.0']) {
      const release = await create(
        'releases',
        { version, channel: 'stable', description: `Release ${version}` },
        { product: rel('products', product), package: rel('packages', pkg) },
      )
      if (version === '1.1.0') {
        await upload(release, LINUX, { filetype: 'gz', platform: 'linux', arch: 'x86_64', signature: linuxSignature })
        await upload(release, MAC, { filetype: 'gz', platform: 'darwin', arch: 'aarch64' })
        await upload(release, `${MAC}.sig`, { filetype: 'sig', platform: 'darwin', arch: 'aarch64' })
      }
      expect((await api('POST', `/v1/releases/${release}/actions/publish`)).status).toBe(200)
    }
    endpoint = `${gw.url}/v1/accounts/${gw.account.id}/engines/tauri/myapp`
  }, 60_000)
  afterAll(async () => {
    await gw?.close()
  })

  /** updaterCheck asks as the updater does (v2 plugin: `Accept: application/json`, its User-Agent, its headers). */
  async function updaterCheck(query: string, headers: string[] = ['-H', `Authorization: License ${KEY}`]) {
    const { stdout } = await run('curl', [
      '-s',
      '-H',
      'Accept: application/json',
      '-H',
      `User-Agent: ${UA}`,
      ...headers,
      '-w',
      '\n%{http_code}',
      `${endpoint}?${query}`,
    ])
    const cut = stdout.lastIndexOf('\n')
    return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) }
  }

  /** download follows `url` as the updater does (octet-stream, its headers) and verifies it with minisign. */
  async function downloadAndVerify(url: string, signature: string, name: string, headers: string[]) {
    const out = path(`${name}-${storage}`)
    const { stdout } = await run('curl', [
      '-s',
      '-L',
      '-H',
      'Accept: application/octet-stream',
      '-H',
      `User-Agent: ${UA}`,
      ...headers,
      '-o',
      out,
      '-w',
      '%{http_code}',
      url,
    ])
    expect(stdout).toBe('200')
    writeFileSync(`${out}.minisig`, Buffer.from(signature, 'base64'))
    const verified = await run('minisign', ['-V', '-p', path('key.pub'), '-m', out, '-x', `${out}.minisig`])
    expect(verified.stdout).toContain('Signature and comment signature verified')
    return readFileSync(out)
  }

  it('offers 1.1.0 with the attribute signature, and the download verifies with minisign', async () => {
    const res = await updaterCheck('platform=linux&arch=x86_64&version=1.0.0')
    expect(res.status).toBe(200)
    expect(updaterProblems('v1', res.status, res.body)).toEqual([])
    expect(updaterProblems('v2', res.status, res.body)).toEqual([])
    const body = JSON.parse(res.body)
    expect(body).toMatchObject({ version: '1.1.0', notes: 'Release 1.1.0' })
    expect(body.signature).toBe(readFileSync(path(`${LINUX}.minisig`)).toString('base64'))
    expect(trustedComment(body.signature)).toContain('version:1.1.0')
    const bytes = await downloadAndVerify(body.url, body.signature, 'linux', ['-H', `Authorization: License ${KEY}`])
    expect(bytes.equals(readFileSync(path(LINUX)))).toBe(true)
  })

  it('offers the macOS bundle with the contents of its uploaded .sig file', async () => {
    const res = await updaterCheck('platform=darwin&arch=aarch64&version=1.0.0')
    expect(res.status).toBe(200)
    expect(updaterProblems('v2', res.status, res.body)).toEqual([])
    const body = JSON.parse(res.body)
    expect(body.signature).toBe(readFileSync(path(`${MAC}.sig`), 'utf8'))
    const bytes = await downloadAndVerify(body.url, body.signature, 'mac', ['-H', `Authorization: License ${KEY}`])
    expect(bytes.equals(readFileSync(path(MAC)))).toBe(true)
  })

  it('keeps ?auth=license:KEY in the url, so an updater without headers downloads too', async () => {
    const res = await updaterCheck(`platform=linux&arch=x86_64&version=1.0.0&auth=license:${KEY}`, [])
    expect(res.status).toBe(200)
    const body = JSON.parse(res.body)
    expect(new URL(body.url).searchParams.get('auth')).toBe(`license:${KEY}`)
    await downloadAndVerify(body.url, body.signature, 'linux-query', [])
  })

  it('a tampered download fails minisign verification', async () => {
    const body = JSON.parse((await updaterCheck('platform=linux&arch=x86_64&version=1.0.0')).body)
    writeFileSync(path('tampered'), Buffer.concat([readFileSync(path(LINUX)), Buffer.from([0])]))
    writeFileSync(path('tampered.minisig'), Buffer.from(body.signature, 'base64'))
    await expect(
      run('minisign', ['-V', '-p', path('key.pub'), '-m', path('tampered'), '-x', path('tampered.minisig')]),
    ).rejects.toThrow()
  })

  it('answers 204 with an empty body when up to date, and 404 without the license', async () => {
    const latest = await updaterCheck('platform=linux&arch=x86_64&version=1.1.0')
    expect(latest).toEqual({ status: 204, body: '' })
    const anonymous = await updaterCheck('platform=linux&arch=x86_64&version=1.0.0', [])
    expect(anonymous.status).toBe(404)
  })
})
