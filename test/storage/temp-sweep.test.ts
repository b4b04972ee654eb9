import { randomUUID } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openCatalog } from '../../gateway/catalog/db.ts'
import { bootstrap } from '../../gateway/catalog/bootstrap.ts'
import { FilesystemStore, STALE_TEMP_MS } from '../../gateway/storage/filesystem-store.ts'
import { cleanEnv, type PkgwayProcess, startPkgway } from '../cli/pkgway-process.ts'
import { seedProduct, seedRelease } from '../helpers/seed.ts'
import { waitFor } from '../workers/helpers.ts'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pkgway-sweep-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const HOST = encodeURIComponent(hostname())

describe('FilesystemStore.sweepTemporary', () => {
  it('removes what dead processes of this host left and what nobody wrote to for 15 minutes, nothing else', async () => {
    const root = await mkdtemp(join(dir, 'unit-'))
    const store = new FilesystemStore({ root, signingSecret: 'x'.repeat(32), presignTtl: 900, uploadTtl: 3600 })
    await store.check()
    const tmp = join(root, '.tmp')
    await mkdir(tmp, { recursive: true })
    const files = {
      deadPid: `999999.abcd0123@${HOST}@${randomUUID()}`,
      samePidEarlierProcess: `${process.pid}.00000000@${HOST}@${randomUUID()}`,
      livePid: `${process.ppid}.abcd0123@${HOST}@${randomUUID()}`,
      otherHostFresh: `999999.abcd0123@elsewhere@${randomUUID()}`,
      otherHostIdle: `999999.abcd0123@elsewhere@${randomUUID()}`,
      olderVersionIdle: randomUUID(),
      olderVersionFresh: randomUUID(),
    }
    for (const name of Object.values(files)) await writeFile(join(tmp, name), 'partial upload')
    const old = new Date(Date.now() - STALE_TEMP_MS - 60_000)
    for (const name of [files.otherHostIdle, files.olderVersionIdle]) await utimes(join(tmp, name), old, old)

    // A write in flight in this very process is kept: its temporary file exists while the body streams.
    const { PassThrough } = await import('node:stream')
    const body = new PassThrough()
    const writing = store.write('artifacts/a/r/file.bin', body)
    body.write('first bytes')
    await waitFor(async () => (await readdir(tmp)).length === Object.keys(files).length + 1)

    expect(await store.sweepTemporary()).toEqual({ files: 4, bytes: 4 * 'partial upload'.length })
    const left = await readdir(tmp)
    const kept = [files.livePid, files.otherHostFresh, files.olderVersionFresh]
    expect(left).toHaveLength(4)
    expect(left).toEqual(expect.arrayContaining(kept))
    expect(left.find((n) => !kept.includes(n))).toMatch(new RegExp(`^${process.pid}\\.[0-9a-f]+@${HOST}@`))
    body.end('last bytes')
    await writing
    expect((await stat(join(root, 'artifacts/a/r/file.bin'))).size).toBe('first byteslast bytes'.length)
  })
})

describe('pkgway serve after a kill -9 in the middle of an upload', () => {
  it('removes the partial upload file when it starts again', async () => {
    const cwd = await mkdtemp(join(dir, 'serve-'))
    const admin = `admin-${'k'.repeat(40)}v3`
    const catalog = await openCatalog(`sqlite:${join(cwd, 'data', 'pkgway.db')}`)
    await catalog.migrate()
    const { account } = await bootstrap(catalog, admin)
    const product = await seedProduct(catalog.db, account)
    const release = await seedRelease(catalog.db, account, { product })
    await catalog.close()
    const env = cleanEnv(cwd, { PKGWAY_HOST: '127.0.0.1', PORT: '0', PKGWAY_BOOTSTRAP_ADMIN_TOKEN: admin })
    const serve = (): PkgwayProcess => startPkgway(['serve'], { cwd, env })

    const first = serve()
    const url = await first.listening()
    const created = await fetch(`${url}/v1/artifacts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/vnd.api+json', prefer: 'no-redirect' },
      body: JSON.stringify({
        data: {
          type: 'artifacts',
          attributes: { filename: 'big.bin' },
          relationships: { release: { data: { type: 'releases', id: release.id } } },
        },
      }),
    })
    expect(created.status).toBe(200)
    // An unsized upload streams into <blobs>/.tmp until the body ends; this one never ends.
    const upload = httpRequest(created.headers.get('location')!, { method: 'PUT' })
    upload.on('error', () => {})
    upload.write(Buffer.alloc(256 * 1024, 1))
    const tmp = join(cwd, 'data', 'blobs', '.tmp')
    const partial = await waitFor(async () => {
      const names = await readdir(tmp).catch(() => [])
      return names.length === 1 && (await stat(join(tmp, names[0]))).size > 0 ? names[0] : undefined
    }, 15_000)

    await first.stop('SIGKILL')
    upload.destroy()
    expect(await readdir(tmp)).toEqual([partial])

    const second = serve()
    await second.listening()
    expect(await readdir(tmp)).toEqual([])
    const exit = await second.stop('SIGTERM')
    expect(exit.code).toBe(0)
  }, 90_000)
})
