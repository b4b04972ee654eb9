import { Agent, type IncomingHttpHeaders, request as httpRequest } from 'node:http'
import type { FastifyInstance } from 'fastify'
import type { AccountRow, ExpirationStrategy } from '../../gateway/catalog/types.ts'
import { artifactKey } from '../../gateway/storage/keys.ts'
import type { GatewayServices } from '../gateway/fixture.ts'
import { seedArtifact, seedLicense, seedPolicy, seedProduct, seedRelease } from './seed.ts'

/**
 * Helpers of the tests that send many requests over one real keep-alive connection (the per-connection memo of
 * gateway/auth/connection-memo.ts, replay of gateway/replay.ts).
 */

export interface Answer {
  status: number
  headers: IncomingHttpHeaders
  body: string
  /** Whether the request travelled a connection that an earlier request had used. */
  reusedSocket: boolean
}

/** keepAliveConnection sends requests to `base` over one keep-alive connection of its own. */
export function keepAliveConnection(base: string) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const u = new URL(base)
  const send = (path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const req = httpRequest({ host: u.hostname, port: u.port, path, method, headers, agent }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => {
          body += c
        })
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body, reusedSocket: req.reusedSocket }),
        )
      })
      req.on('error', reject)
      req.end()
    })
  return { send, close: () => agent.destroy() }
}

/** basicLicense is the `Authorization` header of Basic `license:KEY`. */
export const basicLicense = (key: string) => ({
  authorization: `Basic ${Buffer.from(`license:${key}`).toString('base64')}`,
})

/**
 * seedLicensedDownload seeds a product whose policy takes license keys, one license per key, and a published
 * release `1.0.0` holding `app.tar.gz` with its bytes stored; rawPath is its Raw engine download path.
 */
export async function seedLicensedDownload(
  services: GatewayServices,
  account: Pick<AccountRow, 'id'>,
  keys: string[],
  expirationStrategy?: ExpirationStrategy,
) {
  const { db } = services.catalog
  const product = await seedProduct(db, account, { name: 'App' })
  const policy = await seedPolicy(db, account, { product, authenticationStrategy: 'LICENSE', expirationStrategy })
  const licenses: string[] = []
  for (const key of keys) licenses.push((await seedLicense(db, account, { policy, key })).id)
  const release = await seedRelease(db, account, { product, version: '1.0.0', status: 'PUBLISHED' })
  await seedArtifact(db, account, { release, filename: 'app.tar.gz', status: 'UPLOADED' })
  await services.blobs.write(artifactKey(account.id, release.id, 'app.tar.gz'), Buffer.from('app'))
  return { product, policy, licenses, rawPath: `/v1/engines/raw/${product.id}/1.0.0/app.tar.gz` }
}

/** licenseAction runs a license action (`suspend`, `reinstate`, …) through the API as admin; its status. */
export async function licenseAction(
  app: FastifyInstance,
  adminToken: string,
  licenseId: string,
  action: 'suspend' | 'reinstate',
): Promise<number> {
  const res = await app.inject({
    method: 'POST',
    url: `/v1/licenses/${licenseId}/actions/${action}`,
    headers: { authorization: `Bearer ${adminToken}` },
  })
  return res.statusCode
}
