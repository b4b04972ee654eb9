import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PkgwayConfig } from '../../config/schema.ts'
import { buildApp, loggerOptions } from '../../gateway/app.ts'
import { bootstrap } from '../../gateway/catalog/bootstrap.ts'
import { metricsText } from '../../gateway/metrics.ts'
import { REPLAY_MAX_AGE_MS } from '../../gateway/replay.ts'
import { type GatewayServices, openGatewayServices } from '../gateway/fixture.ts'
import {
  basicLicense as basic,
  keepAliveConnection,
  licenseAction,
  seedLicensedDownload,
} from '../helpers/keep-alive.ts'
import { generateLicenseKey } from '../helpers/seed.ts'

/**
 * Replay (gateway/replay.ts): a keep-alive connection repeating a request byte for byte gets its previous answer
 * without Fastify, but only while that answer would not differ. Every request here travels a real connection.
 */

const HIT = 'pkgway_cache_lookups_total{cache="replay",result="hit"}'
const RAW_3XX = 'pkgway_http_requests_total{method="GET",route="/v1/engines/raw/*",engine="raw",status_class="3xx"}'

async function sample(series: string): Promise<number> {
  const line = (await metricsText()).body.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? 0 : Number(line.slice(series.length + 1))
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('replay of repeated requests on a keep-alive connection', () => {
  let services: GatewayServices
  let app: FastifyInstance
  let base: string
  let adminToken: string
  let rawPath: string
  let keyA: string
  let licenseA: string
  let keyB: string
  let policyId: string
  const lines: string[] = []
  const connections: ReturnType<typeof keepAliveConnection>[] = []

  /** connection gives a GET function bound to one keep-alive connection of its own. */
  function connection() {
    const opened = keepAliveConnection(base)
    connections.push(opened)
    return (path: string, headers: Record<string, string> = {}) => opened.send(path, headers)
  }

  beforeAll(async () => {
    services = await openGatewayServices({ authThrottle: { maxFailures: 20, windowSeconds: 60 } })
    const boot = await bootstrap(services.catalog)
    adminToken = boot.createdToken!
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk))
        done()
      },
    })
    // The gateway's own logger settings (serializers, redaction), silent until a test turns it up.
    const logger = { ...(loggerOptions({ logLevel: 'silent' } as PkgwayConfig) as object), stream: sink }
    app = await buildApp({ ...services, logger })
    keyA = generateLicenseKey()
    keyB = generateLicenseKey()
    const seeded = await seedLicensedDownload(services, boot.account, [keyA, keyB], 'REVOKE_ACCESS')
    policyId = seeded.policy.id
    licenseA = seeded.licenses[0]
    rawPath = seeded.rawPath
    base = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('localhost', '127.0.0.1')
  })
  afterAll(async () => {
    for (const opened of connections) opened.close()
    await app?.close()
    await services?.close()
  })

  it('answers a repeated request as before, with a request id of its own, counted like any other', async () => {
    const get = connection()
    const first = await get(rawPath, basic(keyA))
    const hits = await sample(HIT)
    const counted = await sample(RAW_3XX)
    const second = await get(rawPath, basic(keyA))
    expect(second.reusedSocket).toBe(true)
    expect(await sample(HIT)).toBe(hits + 1)
    expect(await sample(RAW_3XX)).toBe(counted + 1)
    expect(first.status).toBe(303)
    expect(second.status).toBe(303)
    const { 'x-request-id': firstId, date: _d1, ...firstHeaders } = first.headers
    const { 'x-request-id': secondId, date: _d2, ...secondHeaders } = second.headers
    expect(secondHeaders).toEqual(firstHeaders)
    expect(second.headers.location).toMatch(/^\/v1\/accounts\/[0-9a-f-]{36}\/artifacts\/[0-9a-f-]{36}\/app\.tar\.gz$/)
    expect(secondId).toMatch(/^[0-9a-f-]{36}$/)
    expect(secondId).not.toBe(firstId)
    expect(second.body).toBe(first.body)
  })

  it('ends at the next write: a suspension is seen by the very next request', async () => {
    const get = connection()
    expect((await get(rawPath, basic(keyA))).status).toBe(303)
    const hits = await sample(HIT)
    expect((await get(rawPath, basic(keyA))).status).toBe(303)
    expect(await sample(HIT)).toBe(hits + 1)
    expect(await licenseAction(app, adminToken, licenseA, 'suspend')).toBe(200)
    const suspended = await get(rawPath, basic(keyA))
    expect(suspended.reusedSocket).toBe(true)
    expect(suspended.status).toBe(403)
    expect(JSON.parse(suspended.body).errors[0].code).toBe('LICENSE_SUSPENDED')
    expect(await licenseAction(app, adminToken, licenseA, 'reinstate')).toBe(200)
    expect((await get(rawPath, basic(keyA))).status).toBe(303)
  })

  it('ends when the credential expires, though nothing is written', async () => {
    // Longer than the replay age, so that an answer remembered after the first age ran out would outlive the
    // license if its expiry were not a limit of its own.
    const expiresAt = Date.now() + REPLAY_MAX_AGE_MS + 600
    const key = generateLicenseKey()
    const created = await app.inject({
      method: 'POST',
      url: '/v1/licenses',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/vnd.api+json' },
      payload: {
        data: {
          type: 'licenses',
          attributes: { key, expiry: new Date(expiresAt).toISOString() },
          relationships: { policy: { data: { type: 'policies', id: policyId } } },
        },
      },
    })
    expect(created.statusCode).toBe(201)
    const get = connection()
    const before: number[] = []
    const after: { status: number; code: string }[] = []
    const hits = await sample(HIT)
    while (Date.now() < expiresAt + 300) {
      const sentAt = Date.now()
      const answer = await get(rawPath, basic(key))
      if (Date.now() < expiresAt) before.push(answer.status)
      else if (sentAt > expiresAt)
        after.push({ status: answer.status, code: JSON.parse(answer.body).errors?.[0]?.code })
      await sleep(20)
    }
    expect(await sample(HIT)).toBeGreaterThan(hits)
    expect(before.length).toBeGreaterThan(10)
    expect(new Set(before)).toEqual(new Set([303]))
    expect(after.length).toBeGreaterThan(3)
    expect(after.every((a) => a.status === 403 && a.code === 'LICENSE_EXPIRED')).toBe(true)
  })

  it('writes the two lines Fastify writes for a request while requests are logged', async () => {
    const get = connection()
    app.log.level = 'info'
    try {
      const hits = await sample(HIT)
      const logged = lines.length
      const ids: string[] = []
      for (let i = 0; i < 3; i++) {
        const answer = await get(rawPath, { ...basic(keyB), 'user-agent': 'pip/24.0' })
        expect(answer.status).toBe(303)
        ids.push(String(answer.headers['x-request-id']))
      }
      // The first request on the connection went through Fastify, the two repeats were replayed.
      expect(await sample(HIT)).toBe(hits + 2)
      const written = lines.slice(logged).map((l) => JSON.parse(l))
      const incoming = written.filter((l) => l.msg === 'incoming request')
      const completed = written.filter((l) => l.msg === 'request completed')
      expect(incoming.map((l) => l.reqId)).toEqual(ids)
      expect(completed.map((l) => l.reqId)).toEqual(ids)
      for (const [i, line] of incoming.entries()) {
        expect(line).toMatchObject({ level: 30, reqId: ids[i] })
        expect(line.req).toEqual({ id: ids[i], method: 'GET', url: '/v1/engines/raw/*', userAgent: 'pip/24.0' })
      }
      for (const line of completed) {
        expect(line).toMatchObject({ level: 30, res: { statusCode: 303 } })
        expect(line.responseTime).toBeGreaterThanOrEqual(0)
      }
      // A replayed line carries what Fastify's carries, no more, no less.
      const keys = (l: object) => Object.keys(l).sort()
      expect(keys(incoming[2])).toEqual(keys(incoming[0]))
      expect(keys(completed[2])).toEqual(keys(completed[0]))
      expect(lines.slice(logged).join('')).not.toContain(keyB)
    } finally {
      app.log.level = 'silent'
    }
  })

  it('never answers one request with what another header got', async () => {
    const get = connection()
    const plan: [Record<string, string>, number][] = [
      [basic(keyA), 303],
      [{}, 404],
      [basic(keyA), 303],
      [{ ...basic(keyA), 'keygen-environment': 'test' }, 400],
      [{}, 404],
      [basic(keyA), 303],
      [{ ...basic(keyA), 'x-other': '1' }, 303],
      [{}, 404],
      [basic(keyA), 303],
    ]
    const hits = await sample(HIT)
    const statuses: number[] = []
    for (const [headers] of plan) statuses.push((await get(rawPath, headers)).status)
    expect(statuses).toEqual(plan.map(([, status]) => status))
    // The three repeats of the plain 303 are replayed; 4xx answers are never remembered.
    expect(await sample(HIT)).toBe(hits + 3)
  })

  // Failed authentications from here on: replay stays off for this address until the throttle's window ends.
  it('is off while an address is throttled: its valid credentials get 429 too', async () => {
    const get = connection()
    expect((await get(rawPath, basic(keyB))).status).toBe(303)
    expect((await get(rawPath, basic(keyB))).status).toBe(303)
    const guess = connection()
    let status = 0
    for (let i = 0; i < 25 && status !== 429; i++) status = (await guess(rawPath, basic(`WRONG-${i}`))).status
    expect(status).toBe(429)
    const throttled = await get(rawPath, basic(keyB))
    expect(throttled.reusedSocket).toBe(true)
    expect(throttled.status).toBe(429)
    expect(throttled.headers['retry-after']).toMatch(/^\d+$/)
  })
})
