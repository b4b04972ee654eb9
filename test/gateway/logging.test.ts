import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { buildApp, loggerOptions, redactUrlSecrets } from '../../gateway/app.ts'
import { signedBlobUrl } from '../../gateway/storage/signed-url.ts'
import { type GatewayServices, openGatewayServices } from './fixture.ts'

const SECRETS = {
  bearer: 'admin-0123456789abcdef0123456789abcdefv3',
  basic: Buffer.from('license:LICENSE-KEY-SECRET-1234').toString('base64'),
  auth: 'AUTH-PARAM-SECRET-5678',
  token: 'TOKEN-PARAM-SECRET-9012',
  sig: 'SIG-PARAM-SECRET-3456',
  cookie: 'COOKIE-SECRET-7890',
  pathKey: 'LICENSE-KEY-IN-PATH-2468',
  accountPathKey: 'ACCOUNT-SCOPED-KEY-1357',
  rawKey: 'RAW-ENGINE-AUTH-KEY-9753',
}

describe('request logging', () => {
  let gw: GatewayServices
  let app: FastifyInstance
  let validSig: string
  const lines: string[] = []

  beforeAll(async () => {
    const stream = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(...chunk.toString().split('\n').filter(Boolean))
        callback()
      },
    })
    // The production logger options, at the most verbose level, written to a stream the test reads.
    const base = loggerOptions({ logLevel: 'trace' } as Parameters<typeof loggerOptions>[0])
    gw = await openGatewayServices()
    app = await buildApp({ ...gw, logger: { ...(base as object), stream } })

    const blobUrl = new URL(
      await gw.blobs.redirectUrl('artifacts/a/r/file.bin', 'GET', { baseUrl: 'http://localhost/' }),
    )
    validSig = blobUrl.searchParams.get('sig')!
    const expired = new URL(signedBlobUrl(gw.signingSecret, 'http://localhost/', 'PUT', 'artifacts/a/r/x', -5))
    const requests = [
      {
        url: `/v1/ping?auth=${SECRETS.auth}&token=${SECRETS.token}`,
        headers: { authorization: `Bearer ${SECRETS.bearer}` },
      },
      { url: `/v1/nowhere?token=${SECRETS.token}`, headers: { authorization: `Basic ${SECRETS.basic}` } },
      { url: `/v1/blobs/artifacts/a/r/file.bin?method=GET&expires=99999999999&sig=${SECRETS.sig}` },
      { url: blobUrl.pathname + blobUrl.search, headers: { cookie: `session=${SECRETS.cookie}` } },
      { method: 'PUT' as const, url: expired.pathname + expired.search, payload: 'x' },
      { url: `/v1/%zz?auth=${SECRETS.auth}&sig=${SECRETS.sig}` },
      // A license is looked up by its key in the path: the key must not reach the log either.
      { url: `/v1/licenses/${SECRETS.pathKey}`, headers: { authorization: `Bearer ${SECRETS.bearer}` } },
      { url: `/v1/accounts/acme/licenses/${SECRETS.accountPathKey}` },
      { url: `/v1/engines/raw/product/1.0.0/app.tar.gz?auth=license:${SECRETS.rawKey}` },
      {
        method: 'POST' as const,
        url: `/v1/anything?token=${SECRETS.token}`,
        headers: { authorization: `Bearer ${SECRETS.bearer}`, 'content-type': 'application/json' },
        payload: '{broken',
      },
    ]
    for (const r of requests) await app.inject(r)
  })
  afterAll(async () => {
    await app?.close()
    await gw?.close()
  })

  it('logs every request', () => {
    expect(lines.filter((l) => l.includes('"incoming request"'))).toHaveLength(10)
    // A URL Fastify cannot decode is answered before routing, without the "request completed" line.
    expect(lines.filter((l) => l.includes('"request completed"'))).toHaveLength(9)
  })

  it("binds each request's lines to its id", () => {
    const requestLines = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request completed')
    expect(requestLines).toHaveLength(9)
    for (const line of requestLines) expect(line.reqId).toMatch(/^[0-9a-f-]{36}$/)
    expect(new Set(requestLines.map((l) => l.reqId)).size).toBe(9)
  })

  it.each(Object.keys(SECRETS))('never contains the %s value', (name) => {
    const value = (SECRETS as Record<string, string>)[name]
    const leaks = lines.filter((l) => l.includes(value))
    expect(leaks).toEqual([])
  })

  it('never contains the signature of a valid blob URL', () => {
    expect(validSig.length).toBeGreaterThan(20)
    expect(lines.filter((l) => l.includes(validSig))).toEqual([])
  })

  it('logs the route pattern instead of the path, and marks the redacted parameters', () => {
    const urls = lines.map((l) => JSON.parse(l).req?.url).filter(Boolean)
    expect(urls).toContain('/v1/ping?auth=[redacted]&token=[redacted]')
    expect(urls).toContain('/v1/licenses/:id')
    expect(urls).toContain('/v1/accounts/:account/licenses/:id')
    expect(urls).toContain('/v1/engines/raw/*?auth=[redacted]')
    expect(urls).toContain('[no route]?token=[redacted]')
    expect(urls.some((u: string) => /^\/v1\/blobs\/\*\?.*sig=\[redacted\]/.test(u))).toBe(true)
  })
})

describe('request logging at warn level', () => {
  it('writes nothing for a quiet request, and binds the request id to what a request does log', async () => {
    const lines: string[] = []
    const stream = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(...chunk.toString().split('\n').filter(Boolean))
        callback()
      },
    })
    const base = loggerOptions({ logLevel: 'warn' } as Parameters<typeof loggerOptions>[0])
    const gw = await openGatewayServices()
    const app = await buildApp({ ...gw, logger: { ...(base as object), stream } })
    app.get('/test/warn', async (request) => {
      request.log.info('not written at warn level')
      request.log.warn({ detail: 1 }, 'a warning')
      return 'ok'
    })
    try {
      expect((await app.inject({ url: '/v1/ping' })).statusCode).toBe(200)
      expect(lines).toEqual([])
      const res = await app.inject({ url: '/test/warn' })
      expect(res.statusCode).toBe(200)
      const logged = lines.map((l) => JSON.parse(l))
      expect(logged).toHaveLength(1)
      expect(logged[0]).toMatchObject({
        level: 40,
        msg: 'a warning',
        detail: 1,
        reqId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      })
      // A level changed at run time holds for the next request's logger.
      app.log.level = 'info'
      lines.length = 0
      expect((await app.inject({ url: '/test/warn' })).statusCode).toBe(200)
      const messages = lines.map((l) => JSON.parse(l)).filter((l) => l.reqId !== undefined)
      expect(messages.map((l) => l.msg)).toEqual([
        'incoming request',
        'not written at warn level',
        'a warning',
        'request completed',
      ])
      expect(new Set(messages.map((l) => l.reqId)).size).toBe(1)
    } finally {
      await app.close()
      await gw.close()
    }
  })
})

describe('redactUrlSecrets', () => {
  it.each([
    ['/v1/x?auth=a&b=1', '/v1/x?auth=[redacted]&b=1'],
    ['/v1/x?b=1&token=t', '/v1/x?b=1&token=[redacted]'],
    ['/v1/blobs/k?method=GET&expires=1&sig=abc', '/v1/blobs/k?method=GET&expires=1&sig=[redacted]'],
    ['/k?X-Amz-Signature=s&X-Amz-Credential=c', '/k?X-Amz-Signature=[redacted]&X-Amz-Credential=[redacted]'],
    ['/v1/ping', '/v1/ping'],
  ])('%s → %s', (input, output) => {
    expect(redactUrlSecrets(input)).toBe(output)
  })
})
