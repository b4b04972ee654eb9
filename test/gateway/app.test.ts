import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pkgway } from '../../gateway/app.ts'
import { createTestGateway, type TestGateway } from '../helpers/app.ts'
import { type GatewayServices, openGatewayServices } from './fixture.ts'

const JSON_API = 'application/vnd.api+json; charset=utf-8'
const NOT_FOUND = {
  title: 'Not found',
  detail: 'The requested endpoint was not found (check your HTTP method, Accept header, and URL path)',
  code: 'NOT_FOUND',
}

describe('gateway shell', () => {
  let gw: TestGateway
  beforeAll(async () => {
    gw = await createTestGateway()
  })
  afterAll(async () => {
    await gw?.close()
  })

  describe('GET /v1/ping and /healthz', () => {
    it.each(['/v1/ping', '/healthz'])('%s answers 200 {"status":"ok"}', async (url) => {
      const res = await gw.app.inject({ url })
      expect(res.statusCode).toBe(200)
      expect(res.json()).toEqual({ status: 'ok' })
      expect(res.headers['content-type']).toMatch(/^application\/json/)
    })
  })

  describe('unknown routes', () => {
    it.each([
      ['GET', '/v1/nothing-here'],
      ['POST', '/v1/ping'],
      ['DELETE', '/healthz'],
      ['GET', '/'],
    ])('%s %s answers the JSON:API 404 document', async (method, url) => {
      const res = await gw.app.inject({ method: method as 'GET', url })
      expect(res.statusCode).toBe(404)
      expect(res.headers['content-type']).toBe(JSON_API)
      expect(res.json()).toEqual({ meta: { id: res.headers['x-request-id'] }, errors: [NOT_FOUND] })
    })

    it('answers application/json when the client asks for plain JSON', async () => {
      const res = await gw.app.inject({ url: '/v1/nothing-here', headers: { accept: 'application/json' } })
      expect(res.statusCode).toBe(404)
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
      expect(res.json().errors).toEqual([NOT_FOUND])
    })
  })

  describe('X-Request-Id', () => {
    it('is set on successes and errors, unique per request, and equals meta.id of error documents', async () => {
      const ok = await gw.app.inject({ url: '/v1/ping' })
      const missing = await gw.app.inject({ url: '/v1/missing' })
      const bad = await gw.app.inject({ url: '/v1/%zz' })
      const ids = [ok, missing, bad].map((r) => r.headers['x-request-id'])
      for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
      expect(new Set(ids).size).toBe(3)
      expect(missing.json().meta.id).toBe(ids[1])
      expect(bad.json().meta.id).toBe(ids[2])
    })
  })

  describe('malformed URLs', () => {
    it('answers 400 in JSON:API without echoing the URL', async () => {
      const res = await gw.app.inject({ url: '/v1/blobs/%zz?sig=SECRET-SIGNATURE' })
      expect(res.statusCode).toBe(400)
      expect(res.headers['content-type']).toBe(JSON_API)
      expect(res.json().errors).toEqual([
        { title: 'Bad request', detail: 'The request URL is malformed', code: 'BAD_REQUEST' },
      ])
      expect(res.body).not.toContain('SECRET-SIGNATURE')
    })
  })
})

describe('request bodies', () => {
  let services: GatewayServices
  let app: FastifyInstance
  beforeAll(async () => {
    services = await openGatewayServices()
    // The gateway's parsers and error handler live in its own context; a throwaway route inside that context
    // (the same function buildApp registers) exercises them.
    app = Fastify({ logger: false, bodyLimit: 1024 })
    await app.register(async (scope) => {
      await pkgway(scope, services)
      scope.post('/v1/echo', async (request) => ({ received: request.body }))
      scope.get('/v1/boom', async () => {
        throw new Error('secret internal detail')
      })
    })
    await app.ready()
  })
  afterAll(async () => {
    await app?.close()
    await services?.close()
  })

  it('parses JSON and JSON:API bodies', async () => {
    for (const type of ['application/json', 'application/vnd.api+json']) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/echo',
        headers: { 'content-type': type },
        payload: '{"a":1}',
      })
      expect(res.statusCode, type).toBe(200)
      expect(res.json()).toEqual({ received: { a: 1 } })
    }
  })

  it.each([
    ['application/json', '{"data":'],
    ['application/vnd.api+json', '{"data": {"type": "releases",'],
    ['application/vnd.api+json; charset=utf-8', 'not json at all'],
    ['application/json', '{"__proto__": {"admin": true}}'],
  ])('answers a malformed %s body %j with 400 in JSON:API, never 500', async (type, payload) => {
    const res = await app.inject({ method: 'POST', url: '/v1/echo', headers: { 'content-type': type }, payload })
    expect(res.statusCode).toBe(400)
    expect(res.headers['content-type']).toBe(JSON_API)
    const doc = res.json()
    expect(doc.meta.id).toBe(res.headers['x-request-id'])
    expect(doc.errors).toHaveLength(1)
    expect(doc.errors[0]).toMatchObject({ title: 'Bad request', code: 'BAD_REQUEST' })
  })

  it('treats an empty JSON body as no body, as body-less actions send it', async () => {
    for (const type of ['application/json', 'application/vnd.api+json']) {
      const res = await app.inject({ method: 'POST', url: '/v1/echo', headers: { 'content-type': type }, payload: '' })
      expect(res.statusCode, type).toBe(200)
      expect(res.json()).toEqual({})
    }
  })

  it('answers an unsupported content type with 415 in JSON:API', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/echo',
      headers: { 'content-type': 'text/csv' },
      payload: 'a,b',
    })
    expect(res.statusCode).toBe(415)
    expect(res.headers['content-type']).toBe(JSON_API)
    expect(res.json().errors[0]).toMatchObject({ code: 'CONTENT_TYPE_INVALID' })
  })

  it('answers a body over the limit with 413 in JSON:API', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/echo',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ pad: 'x'.repeat(2048) }),
    })
    expect(res.statusCode).toBe(413)
    expect(res.headers['content-type']).toBe(JSON_API)
    expect(res.json().errors[0]).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' })
  })

  it('hides the message of unexpected errors behind a 500 document', async () => {
    const res = await app.inject({ url: '/v1/boom' })
    expect(res.statusCode).toBe(500)
    expect(res.headers['content-type']).toBe(JSON_API)
    expect(res.json().errors).toEqual([
      { title: 'Internal server error', detail: 'An unexpected error occurred', code: 'INTERNAL_ERROR' },
    ])
    expect(res.body).not.toContain('secret internal detail')
  })
})
