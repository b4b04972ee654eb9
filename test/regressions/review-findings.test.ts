import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveConnection, writeLogin } from '../../cli/vendor/settings.ts'
import { toJsonApiError } from '../../gateway/plugins/error-handler.ts'
import { BlobStoreError } from '../../gateway/storage/blob-store.ts'
import { artifactKey } from '../../gateway/storage/keys.ts'
import { processArtifact } from '../../workers/process-upload/index.ts'
import { createTestGateway, type TestGateway } from '../helpers/app.ts'
import { basicAuth, coreMetadata, seedFile } from '../engines/pypi/fixtures.ts'
import {
  seedArtifact,
  seedLicense,
  seedPackage,
  seedPolicy,
  seedProduct,
  seedRelease,
  seedToken,
  seedUser,
} from '../helpers/seed.ts'

/** Regressions for the findings of the first code review: each was reproduced before its fix. */

let gw: TestGateway
const json = { 'content-type': 'application/vnd.api+json' }
const bearer = (token: string) => ({ authorization: `Bearer ${token}`, ...json })

beforeAll(async () => {
  gw = await createTestGateway()
})
afterAll(async () => {
  await gw?.close()
})

describe('authorization', () => {
  it('does not let a product token change its own product (e.g. make it OPEN)', async () => {
    const product = await seedProduct(gw.catalog.db, gw.account, { strategy: 'CLOSED' })
    const { raw } = await seedToken(gw.catalog.db, gw.account, { bearerType: 'product', bearer: product })
    const res = await gw.app.inject({
      method: 'PATCH',
      url: `/v1/products/${product.id}`,
      headers: bearer(raw),
      payload: { data: { type: 'products', attributes: { distributionStrategy: 'OPEN' } } },
    })
    expect(res.statusCode).toBe(403)
    const row = await gw.catalog.db
      .selectFrom('products')
      .select('distribution_strategy')
      .where('id', '=', product.id)
      .executeTakeFirst()
    expect(row?.distribution_strategy).toBe('CLOSED')
  })

  it('lets only admins change user roles, not developers', async () => {
    const dev = await seedUser(gw.catalog.db, gw.account, { role: 'developer' })
    const { raw } = await seedToken(gw.catalog.db, gw.account, { bearerType: 'admin', bearer: dev })
    const patch = { data: { type: 'users', attributes: { role: 'admin' } } }
    const denied = await gw.app.inject({
      method: 'PATCH',
      url: `/v1/users/${dev.id}`,
      headers: bearer(raw),
      payload: patch,
    })
    expect(denied.statusCode).toBe(403)
    const allowed = await gw.app.inject({
      method: 'PATCH',
      url: `/v1/users/${dev.id}`,
      headers: bearer(gw.adminToken),
      payload: patch,
    })
    expect(allowed.statusCode).toBe(200)
    expect(allowed.json().data.attributes.role).toBe('admin')
  })

  it('refuses PEP 658 metadata to a suspended license, as it refuses the download', async () => {
    const db = gw.catalog.db
    const product = await seedProduct(db, gw.account)
    const pkg = await seedPackage(db, gw.account, { product, key: 'secret-pkg', engine: 'pypi' })
    const policy = await seedPolicy(db, gw.account, { product, authenticationStrategy: 'MIXED' })
    const license = await seedLicense(db, gw.account, { policy, suspended: true })
    const { raw } = await seedToken(db, gw.account, { bearerType: 'license', bearer: license })
    const release = await seedRelease(db, gw.account, { product, package: pkg, version: '1.0.0', status: 'PUBLISHED' })
    const filename = 'secret_pkg-1.0.0-py3-none-any.whl'
    const file = await seedFile(db, gw.account, {
      release,
      filename,
      coreMetadata: coreMetadata('secret-pkg', '1.0.0'),
    })
    const res = await gw.app.inject({
      method: 'GET',
      url: `/v1/engines/pypi/files/${file.id}/${filename}.metadata`,
      headers: { authorization: basicAuth('token', raw) },
    })
    expect(res.statusCode).toBe(403)
    expect(res.body).not.toContain('Name: secret-pkg')
  })
})

describe('catalog integrity', () => {
  it('refuses to delete a package that still has releases', async () => {
    const db = gw.catalog.db
    const product = await seedProduct(db, gw.account)
    const pkg = await seedPackage(db, gw.account, { product, key: 'kept' })
    await seedRelease(db, gw.account, { product, package: pkg, version: '1.0.0' })
    const res = await gw.app.inject({ method: 'DELETE', url: '/v1/packages/kept', headers: bearer(gw.adminToken) })
    expect(res.statusCode).toBe(422)
    expect(res.json().errors[0].code).toBe('PACKAGE_HAS_RELEASES')
  })

  it('deletes the stored objects of a deleted product’s releases', async () => {
    const db = gw.catalog.db
    const product = await seedProduct(db, gw.account)
    const release = await seedRelease(db, gw.account, { product, version: '1.0.0' })
    const artifact = await seedArtifact(db, gw.account, { release, filename: 'app.bin' })
    const key = artifactKey(gw.account.id, release.id, artifact.filename)
    await gw.blobs.write(key, Buffer.from('bytes'))
    const res = await gw.app.inject({
      method: 'DELETE',
      url: `/v1/products/${product.id}`,
      headers: bearer(gw.adminToken),
    })
    expect(res.statusCode).toBe(204)
    await expect(gw.blobs.stat(key)).rejects.toThrow()
  })

  it('clears the yanked timestamp when a yanked release is published again', async () => {
    const product = await seedProduct(gw.catalog.db, gw.account)
    const release = await seedRelease(gw.catalog.db, gw.account, { product, version: '1.0.0', status: 'PUBLISHED' })
    const act = (action: string) =>
      gw.app.inject({
        method: 'POST',
        url: `/v1/releases/${release.id}/actions/${action}`,
        headers: bearer(gw.adminToken),
      })
    expect((await act('yank')).json().data.attributes.yanked).not.toBeNull()
    expect((await act('publish')).json().data.attributes.yanked).toBeNull()
  })

  it('reserves artifact filenames under blobs/ for OCI image blobs', async () => {
    const product = await seedProduct(gw.catalog.db, gw.account)
    const release = await seedRelease(gw.catalog.db, gw.account, { product, version: '1.0.0' })
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v1/artifacts',
      headers: bearer(gw.adminToken),
      payload: {
        data: {
          type: 'artifacts',
          attributes: { filename: 'blobs/sha256/abc' },
          relationships: { release: { data: { type: 'releases', id: release.id } } },
        },
      },
    })
    expect(res.statusCode).toBe(422)
    expect(res.json().errors[0].code).toBe('FILENAME_INVALID')
  })

  it('filters releases by engine UUID as well as by key', async () => {
    const db = gw.catalog.db
    const product = await seedProduct(db, gw.account)
    const create = await gw.app.inject({
      method: 'POST',
      url: '/v1/packages',
      headers: bearer(gw.adminToken),
      payload: {
        data: {
          type: 'packages',
          attributes: { name: 'Tool', key: 'tool', engine: 'raw' },
          relationships: { product: { data: { type: 'products', id: product.id } } },
        },
      },
    })
    await seedRelease(db, gw.account, { product, package: create.json().data.id, version: '4.2.0' })
    const engine = await db.selectFrom('engines').select('id').where('key', '=', 'raw').executeTakeFirstOrThrow()
    const res = await gw.app.inject({
      method: 'GET',
      url: `/v1/releases?engine=${engine.id}`,
      headers: bearer(gw.adminToken),
    })
    expect(res.json().data.map((r: { attributes: { version: string } }) => r.attributes.version)).toEqual(['4.2.0'])
  })
})

describe('storage and errors', () => {
  it('does not show storage internals in 5xx error details', () => {
    const { status, error } = toJsonApiError(new BlobStoreError('s3', 'AccessDenied on artifacts/acct/rel/secret.bin'))
    expect(status).toBe(502)
    expect(error.detail).toBe('The storage backend failed; try again later')
  })

  it('covers the download filename with the blob URL signature', async () => {
    const key = `artifacts/${gw.account.id}/r/file.bin`
    await gw.blobs.write(key, Buffer.from('x'))
    const url = new URL(await gw.blobs.redirectUrl(key, 'GET', { baseUrl: 'http://localhost/', filename: 'file.bin' }))
    expect((await gw.app.inject({ method: 'GET', url: url.pathname + url.search })).statusCode).toBe(200)
    url.searchParams.set('filename', 'evil.exe')
    expect((await gw.app.inject({ method: 'GET', url: url.pathname + url.search })).statusCode).toBe(403)
    await gw.blobs.delete(key)
  })

  it('does not record a verdict for bytes that were replaced while they were verified', async () => {
    const db = gw.catalog.db
    const product = await seedProduct(db, gw.account)
    const release = await seedRelease(db, gw.account, { product, version: '1.0.0' })
    const artifact = await seedArtifact(db, gw.account, { release, filename: 'raced.bin', status: 'WAITING' })
    const key = artifactKey(gw.account.id, release.id, artifact.filename)
    await gw.blobs.write(key, Buffer.from('first upload'))
    let stats = 0
    // A store whose object changes between the worker's first and second look, as a concurrent re-PUT would.
    const racing = Object.create(gw.blobs, {
      stat: {
        value: async (k: string) => {
          stats++
          if (stats === 2) await gw.blobs.write(k, Buffer.from('second, different upload'))
          return gw.blobs.stat(k)
        },
      },
    })
    const ctx = { catalog: gw.catalog, blobs: racing, log: gw.app.log, signal: new AbortController().signal }
    await expect(processArtifact(ctx as never, artifact.id)).rejects.toThrow(/changed while it was being verified/)
    const row = await db
      .selectFrom('artifacts')
      .select('status')
      .where('id', '=', artifact.id)
      .executeTakeFirstOrThrow()
    expect(row.status).not.toBe('UPLOADED')
    await gw.blobs.delete(key)
  })
})

describe('vendor CLI settings', () => {
  it('never sends the stored token to another host named on the command line', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pkgway-cli-')), 'cli.json')
    await writeLogin({ host: 'http://gw.example:8080', token: 'prod-secret' }, path)
    const previous = process.env.PKGWAY_CLI_CONFIG
    process.env.PKGWAY_CLI_CONFIG = path
    try {
      await expect(resolveConnection({ host: 'http://elsewhere.example' })).rejects.toThrow(/not logged in/)
      expect((await resolveConnection({})).token).toBe('prod-secret')
    } finally {
      if (previous === undefined) delete process.env.PKGWAY_CLI_CONFIG
      else process.env.PKGWAY_CLI_CONFIG = previous
    }
  })
})
