import { request as httpRequest } from 'node:http'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp, loggerOptions } from '../../gateway/app.ts'
import { bootstrap } from '../../gateway/catalog/bootstrap.ts'
import { artifactKey } from '../../gateway/storage/keys.ts'
import { type GatewayServices, openGatewayServices } from '../gateway/fixture.ts'
import { generateLicenseKey, seedArtifact, seedLicense, seedPolicy, seedProduct, seedRelease } from '../helpers/seed.ts'

/**
 * Issue 10, from outside: license keys cannot be guessed at line speed (429 with Retry-After past the budget, while a
 * valid key from another address is never slowed), short custom keys are refused, and keys never reach the log.
 */

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** get sends a GET from a chosen local address (any 127.0.0.x reaches the gateway on 127.0.0.1). */
function get(base: string, path: string, headers: Record<string, string>, localAddress = '127.0.0.1'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(base)
    const req = httpRequest({ host: u.hostname, port: u.port, path, headers, localAddress }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        body += c
      })
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

interface Gateway {
  services: GatewayServices
  app: FastifyInstance
  url: string
  adminToken: string
  key: string
  rawPath: string
  lines: string[]
}

/** start runs a whole gateway, logging at info level into lines, with one licensed artifact behind the Raw engine. */
async function start(trustProxy: boolean): Promise<Gateway> {
  const services = await openGatewayServices({ trustProxy })
  const boot = await bootstrap(services.catalog)
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(...chunk.toString().split('\n').filter(Boolean))
      callback()
    },
  })
  const app = await buildApp({
    ...services,
    logger: { ...(loggerOptions(services.config) as object), level: 'info', stream },
  })
  const { db } = services.catalog
  const product = await seedProduct(db, boot.account, { name: 'App' })
  const policy = await seedPolicy(db, boot.account, { product, authenticationStrategy: 'LICENSE' })
  const key = generateLicenseKey()
  await seedLicense(db, boot.account, { policy, key })
  const release = await seedRelease(db, boot.account, { product, version: '1.0.0', status: 'PUBLISHED' })
  await seedArtifact(db, boot.account, { release, filename: 'app.tar.gz', status: 'UPLOADED' })
  await services.blobs.write(artifactKey(boot.account.id, release.id, 'app.tar.gz'), Buffer.from('app'))
  const url = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('localhost', '127.0.0.1')
  const rawPath = `/v1/engines/raw/${product.id}/1.0.0/app.tar.gz`
  return { services, app, url, adminToken: boot.createdToken!, key, rawPath, lines }
}

const license = (key: string) => ({ authorization: `License ${key}` })

describe('credential guessing is throttled (authThrottle: 20 failures a minute)', () => {
  let direct: Gateway
  let proxied: Gateway
  beforeAll(async () => {
    direct = await start(false)
    proxied = await start(true)
  })
  afterAll(async () => {
    for (const gw of [direct, proxied]) {
      await gw?.app.close()
      await gw?.services.close()
    }
  })

  it('150 wrong license keys from one address get 429 with Retry-After; a valid key from another still gets 303', async () => {
    const statuses: number[] = []
    let throttled: Answer | undefined
    for (let i = 0; i < 150; i++) {
      // Rotating X-Forwarded-For changes nothing: without trustProxy the socket address counts.
      const res = await get(direct.url, direct.rawPath, {
        ...license(generateLicenseKey()),
        'x-forwarded-for': `198.51.100.${i}`,
      })
      statuses.push(res.status)
      throttled ??= res.status === 429 ? res : undefined
    }
    expect(statuses.slice(0, 20)).toEqual(Array(20).fill(401))
    expect(statuses.slice(20)).toEqual(Array(130).fill(429))
    expect(Number(throttled!.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    expect(Number(throttled!.headers['retry-after'])).toBeLessThanOrEqual(60)
    expect(throttled!.headers['content-type']).toBe('application/vnd.api+json; charset=utf-8')
    expect(JSON.parse(throttled!.body).errors).toEqual([
      {
        title: 'Too many requests',
        detail: `Too many failed authentication attempts; retry in ${throttled!.headers['retry-after']} seconds`,
        code: 'TOO_MANY_REQUESTS',
      },
    ])

    // Even the valid key is refused from the guessing address, but not from any other one.
    expect((await get(direct.url, direct.rawPath, license(direct.key))).status).toBe(429)
    const customer = await get(direct.url, direct.rawPath, license(direct.key), '127.0.0.3')
    expect(customer.status).toBe(303)
    expect(customer.headers.location).toMatch(/^\/v1\/accounts\/[0-9a-f-]{36}\/artifacts\/[0-9a-f-]{36}\/app\.tar\.gz$/)
  })

  it('behind a trusted proxy, counts the X-Forwarded-For address', async () => {
    const attacker = { 'x-forwarded-for': '203.0.113.7' }
    for (let i = 0; i < 20; i++) {
      expect((await get(proxied.url, proxied.rawPath, { ...license(generateLicenseKey()), ...attacker })).status).toBe(
        401,
      )
    }
    const blocked = await get(proxied.url, proxied.rawPath, { ...license(generateLicenseKey()), ...attacker })
    expect(blocked.status).toBe(429)
    const customer = { ...license(proxied.key), 'x-forwarded-for': '192.0.2.44' }
    expect((await get(proxied.url, proxied.rawPath, customer)).status).toBe(303)
  })

  it('answers the 429 in each scope’s own format: plain text for pip, JSON:API for the API', async () => {
    const basic = `Basic ${Buffer.from(`license:${generateLicenseKey()}`).toString('base64')}`
    const pip = await get(proxied.url, '/v1/engines/pypi/simple/', {
      authorization: basic,
      'x-forwarded-for': '203.0.113.7',
    })
    expect(pip.status).toBe(429)
    expect(pip.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(pip.body).toBe('Too Many Requests')
    expect(Number(pip.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    const api = await get(proxied.url, '/v1/releases', {
      authorization: `Bearer prod-${'0'.repeat(64)}v3`,
      'x-forwarded-for': '203.0.113.7',
    })
    expect(api.status).toBe(429)
    expect(JSON.parse(api.body).errors[0].code).toBe('TOO_MANY_REQUESTS')
  })

  it('never writes a license key into the log, wherever it was sent', async () => {
    const byKey = await get(
      direct.url,
      `/v1/licenses/${direct.key}`,
      { authorization: `Bearer ${direct.adminToken}` },
      '127.0.0.4',
    )
    expect(byKey.status).toBe(200)
    expect(JSON.parse(byKey.body).data.attributes.key).toBe(direct.key)
    expect(direct.lines.length).toBeGreaterThan(300)
    expect(direct.lines.filter((l) => l.includes(direct.key))).toEqual([])
    expect(direct.lines.filter((l) => l.includes(direct.adminToken))).toEqual([])
    expect(direct.lines.some((l) => l.includes('"url":"/v1/licenses/:id"'))).toBe(true)
  })
})

describe('custom license keys', () => {
  let gw: Gateway
  beforeAll(async () => {
    gw = await start(false)
  })
  afterAll(async () => {
    await gw?.app.close()
    await gw?.services.close()
  })

  it('need at least 16 characters (422 KEY_TOO_SHORT with a source pointer)', async () => {
    const policies = await gw.app.inject({ url: '/v1/policies', headers: { authorization: `Bearer ${gw.adminToken}` } })
    const policyId = policies.json().data[0].id
    const create = (key: string) =>
      gw.app.inject({
        method: 'POST',
        url: '/v1/licenses',
        headers: { authorization: `Bearer ${gw.adminToken}`, 'content-type': 'application/vnd.api+json' },
        payload: {
          data: {
            type: 'licenses',
            attributes: { key },
            relationships: { policy: { data: { type: 'policies', id: policyId } } },
          },
        },
      })
    const short = await create('FIFTEEN-CHARS-1')
    expect(short.statusCode).toBe(422)
    expect(short.json().errors).toEqual([
      {
        title: 'Unprocessable resource',
        detail: 'is too short (minimum is 16 characters)',
        code: 'KEY_TOO_SHORT',
        source: { pointer: '/data/attributes/key' },
      },
    ])
    const long = await create('SIXTEEN-CHARS-12')
    expect(long.statusCode).toBe(201)
    expect(long.json().data.attributes.key).toBe('SIXTEEN-CHARS-12')
  })
})
