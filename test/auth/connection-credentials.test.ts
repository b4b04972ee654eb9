import { Agent, request as httpRequest } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../gateway/app.ts'
import { bootstrap } from '../../gateway/catalog/bootstrap.ts'
import type { AccountRow } from '../../gateway/catalog/types.ts'
import { artifactKey } from '../../gateway/storage/keys.ts'
import { type GatewayServices, openGatewayServices } from '../gateway/fixture.ts'
import {
  generateLicenseKey,
  seedAccount,
  seedArtifact,
  seedLicense,
  seedPolicy,
  seedProduct,
  seedRelease,
} from '../helpers/seed.ts'

/**
 * The auth hook remembers, per connection, the credentials (parsed, with their HMAC) of the last Authorization
 * header it saw (gateway/auth/plugin.ts connectionCredentials). These requests all travel one keep-alive
 * connection, and check that what is remembered never stands in for another header, another account, or a newer
 * judgement of the same credential.
 */

interface Answer {
  status: number
  body: string
  reusedSocket: boolean
}

describe('credentials remembered on a keep-alive connection', () => {
  let services: GatewayServices
  let app: FastifyInstance
  let base: string
  let adminToken: string
  let rawPath: string
  let other: AccountRow
  let keyA: string
  let licenseA: string
  let keyB: string
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })

  /** get sends a GET on the single keep-alive connection of `agent`. */
  function get(path: string, headers: Record<string, string>, method = 'GET'): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const u = new URL(base)
      const req = httpRequest({ host: u.hostname, port: u.port, path, method, headers, agent }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => {
          body += c
        })
        res.on('end', () => resolve({ status: res.statusCode!, body, reusedSocket: req.reusedSocket }))
      })
      req.on('error', reject)
      req.end()
    })
  }

  const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(`license:${key}`).toString('base64')}` })

  beforeAll(async () => {
    services = await openGatewayServices()
    const boot = await bootstrap(services.catalog)
    adminToken = boot.createdToken!
    app = await buildApp({ ...services })
    const { db } = services.catalog
    const product = await seedProduct(db, boot.account, { name: 'App' })
    const policy = await seedPolicy(db, boot.account, { product, authenticationStrategy: 'LICENSE' })
    keyA = generateLicenseKey()
    keyB = generateLicenseKey()
    licenseA = (await seedLicense(db, boot.account, { policy, key: keyA })).id
    await seedLicense(db, boot.account, { policy, key: keyB })
    const release = await seedRelease(db, boot.account, { product, version: '1.0.0', status: 'PUBLISHED' })
    await seedArtifact(db, boot.account, { release, filename: 'app.tar.gz', status: 'UPLOADED' })
    await services.blobs.write(artifactKey(boot.account.id, release.id, 'app.tar.gz'), Buffer.from('app'))
    other = await seedAccount(db)
    base = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('localhost', '127.0.0.1')
    rawPath = `/v1/engines/raw/${product.id}/1.0.0/app.tar.gz`
  })
  afterAll(async () => {
    agent.destroy()
    await app?.close()
    await services?.close()
  })

  it('judges every header it is sent, and the same credential anew after a write', async () => {
    const answers: Answer[] = []
    const step = async (headers: Record<string, string>, path = rawPath) => {
      const answer = await get(path, headers)
      answers.push(answer)
      return answer.status
    }
    expect(await step(basic(keyA))).toBe(303)
    expect(await step(basic(keyA))).toBe(303)
    // Another header on the same connection is parsed and looked up again: a wrong key right after a valid one.
    expect(await step(basic(`${keyA}X`))).toBe(401)
    expect(await step(basic(keyB))).toBe(303)
    expect(await step(basic(keyA))).toBe(303)
    // The same header is the same credential, but its account is part of what is remembered.
    expect(await step(basic(keyA), `/v1/accounts/${other.slug}/engines/raw/app/1.0.0/app.tar.gz`)).toBe(401)
    // No header at all is anonymous, to whom a licensed product does not exist.
    expect(await step({})).toBe(404)
    expect(await step(basic(keyA))).toBe(303)

    // A suspension reaches the very next request with the header this connection has sent all along.
    const suspend = await app.inject({
      method: 'POST',
      url: `/v1/licenses/${licenseA}/actions/suspend`,
      headers: { authorization: `Bearer ${adminToken}` },
    })
    expect(suspend.statusCode).toBe(200)
    const suspended = await get(rawPath, basic(keyA))
    answers.push(suspended)
    expect(suspended.status).toBe(403)
    expect(JSON.parse(suspended.body).errors[0].code).toBe('LICENSE_SUSPENDED')

    // All of it travelled one connection.
    expect(answers.slice(1).every((a) => a.reusedSocket)).toBe(true)
  })
})
