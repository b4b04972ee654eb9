import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../gateway/app.ts'
import { bootstrap } from '../../gateway/catalog/bootstrap.ts'
import type { AccountRow } from '../../gateway/catalog/types.ts'
import { type GatewayServices, openGatewayServices } from '../gateway/fixture.ts'
import {
  type Answer,
  basicLicense as basic,
  keepAliveConnection,
  licenseAction,
  seedLicensedDownload,
} from '../helpers/keep-alive.ts'
import { generateLicenseKey, seedAccount } from '../helpers/seed.ts'

/**
 * The auth hook remembers, per connection, the credentials (parsed, with their HMAC) of the last Authorization
 * header it saw (gateway/auth/plugin.ts connectionCredentials). These requests all travel one keep-alive
 * connection, and check that what is remembered never stands in for another header, another account, or a newer
 * judgement of the same credential.
 */

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
  let connection: ReturnType<typeof keepAliveConnection>
  const get = (path: string, headers: Record<string, string>) => connection.send(path, headers)

  beforeAll(async () => {
    services = await openGatewayServices()
    const boot = await bootstrap(services.catalog)
    adminToken = boot.createdToken!
    app = await buildApp({ ...services })
    keyA = generateLicenseKey()
    keyB = generateLicenseKey()
    const seeded = await seedLicensedDownload(services, boot.account, [keyA, keyB])
    licenseA = seeded.licenses[0]
    rawPath = seeded.rawPath
    other = await seedAccount(services.catalog.db)
    base = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('localhost', '127.0.0.1')
    connection = keepAliveConnection(base)
  })
  afterAll(async () => {
    connection?.close()
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
    expect(await licenseAction(app, adminToken, licenseA, 'suspend')).toBe(200)
    const suspended = await get(rawPath, basic(keyA))
    answers.push(suspended)
    expect(suspended.status).toBe(403)
    expect(JSON.parse(suspended.body).errors[0].code).toBe('LICENSE_SUSPENDED')

    // All of it travelled one connection.
    expect(answers.slice(1).every((a) => a.reusedSocket)).toBe(true)
  })
})
