import type { FastifyInstance } from 'fastify'
import { issueToken } from '../gateway/auth/tokens.ts'
import type { Catalog } from '../gateway/catalog/db.ts'
import { hasProducts } from '../gateway/catalog/products.ts'
import { deleteToken } from '../gateway/catalog/tokens.ts'
import type { Account } from '../gateway/catalog/types.ts'
import type { BlobStore } from '../gateway/storage/blob-store.ts'

/**
 * seedDemo fills an empty account with a small catalog to try pkgway with curl: an OPEN product anyone can
 * download from and a LICENSED one that needs the printed license key. It goes through the gateway's own API
 * (with a short-lived admin token that is revoked afterwards), so demo data is exactly what a vendor would make.
 * Returns the lines to print, or null when the account already has products.
 */
export async function seedDemo(
  app: FastifyInstance,
  services: { catalog: Catalog; blobs: BlobStore },
  account: Account,
): Promise<string[] | null> {
  const { db } = services.catalog
  if (await hasProducts(db, account.id)) return null
  const { row: tokenRow, raw } = await issueToken(db, account, {
    bearerType: 'admin',
    bearerId: null,
    name: 'demo seed',
  })
  const call = async (method: 'POST' | 'PUT', url: string, payload?: unknown) => {
    const res = await app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${raw}`, 'content-type': 'application/vnd.api+json' },
      payload: payload as object,
    })
    if (res.statusCode >= 400) throw new Error(`demo seed: ${method} ${url} answered ${res.statusCode}: ${res.body}`)
    return res.body ? res.json() : undefined
  }
  const publishFile = async (productId: string, filename: string, body: string) => {
    const release = await call('POST', '/v1/releases', {
      data: {
        type: 'releases',
        attributes: { version: '1.0.0', channel: 'stable', tag: 'latest', name: 'Demo 1.0.0' },
        relationships: { product: { data: { type: 'products', id: productId } } },
      },
    })
    const artifact = await app.inject({
      method: 'POST',
      url: '/v1/artifacts',
      headers: { authorization: `Bearer ${raw}`, 'content-type': 'application/vnd.api+json', prefer: 'no-redirect' },
      payload: {
        data: {
          type: 'artifacts',
          attributes: { filename, filetype: 'txt', filesize: Buffer.byteLength(body) },
          relationships: { release: { data: { type: 'releases', id: release.data.id } } },
        },
      },
    })
    const upload = new URL(artifact.headers.location as string)
    if (services.blobs.name === 'filesystem') {
      await app.inject({
        method: 'PUT',
        url: upload.pathname + upload.search,
        payload: body,
        headers: { 'content-type': 'text/plain' },
      })
    } else {
      await fetch(upload, { method: 'PUT', body })
    }
    await call('POST', `/v1/releases/${release.data.id}/actions/publish`)
  }
  try {
    const open = await call('POST', '/v1/products', {
      data: { type: 'products', attributes: { name: 'Demo (open)', code: 'demo', distributionStrategy: 'OPEN' } },
    })
    await publishFile(open.data.id, 'hello.txt', 'Hello from pkgway: anyone may download this.\n')
    const licensed = await call('POST', '/v1/products', {
      data: { type: 'products', attributes: { name: 'Demo (licensed)', code: 'demo-pro' } },
    })
    const policy = await call('POST', '/v1/policies', {
      data: {
        type: 'policies',
        attributes: { name: 'Demo policy', authenticationStrategy: 'MIXED' },
        relationships: { product: { data: { type: 'products', id: licensed.data.id } } },
      },
    })
    const license = await call('POST', '/v1/licenses', {
      data: {
        type: 'licenses',
        attributes: { name: 'Demo customer' },
        relationships: { policy: { data: { type: 'policies', id: policy.data.id } } },
      },
    })
    await publishFile(licensed.data.id, 'hello.txt', 'Hello from pkgway: this one needs a license key.\n')
    const key = license.data.attributes.key as string
    return [
      'pkgway: seeded demo data (products demo and demo-pro, release 1.0.0 tagged latest):',
      '  curl -L http://HOST/v1/engines/raw/demo/latest/hello.txt',
      `  curl -L -u license:${key} http://HOST/v1/engines/raw/demo-pro/latest/hello.txt`,
    ]
  } finally {
    await deleteToken(db, tokenRow.id)
  }
}
