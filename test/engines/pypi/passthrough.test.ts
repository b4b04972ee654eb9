import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ConfigInput } from '../../../config/schema.ts'
import { upstreamProjectUrl } from '../../../gateway/engines/pypi/passthrough.ts'
import { createTestGateway, type TestGateway } from '../../helpers/app.ts'
import { seedLicense, seedPackage, seedPolicy, seedProduct } from '../../helpers/seed.ts'
import { basicAuth, PIP_ACCEPT } from './fixtures.ts'

const UPSTREAM_PAGE =
  '<!DOCTYPE html><html><body><a href="https://files.example/requests-2.0-py3-none-any.whl#sha256=ab">requests-2.0-py3-none-any.whl</a></body></html>'

interface Seen {
  url: string
  headers: Record<string, unknown>
}

/** startUpstream runs a fake public index on 127.0.0.1:0 that records what it was asked. */
async function startUpstream(): Promise<{ app: FastifyInstance; base: string; seen: Seen[] }> {
  const seen: Seen[] = []
  const app = Fastify()
  app.addHook('onRequest', async (request) => {
    seen.push({ url: request.url, headers: request.headers })
  })
  app.get('/simple/requests/', async (request, reply) => {
    reply.header('etag', '"up-1"')
    if (request.headers['if-none-match'] === '"up-1"') return reply.code(304).send()
    return reply.type('text/html; charset=utf-8').send(UPSTREAM_PAGE)
  })
  app.get('/simple/broken/', async (_request, reply) => reply.code(500).send('boom'))
  app.get('/simple/slow/', () => new Promise(() => {})) // never answers
  app.get('/simple/moved/', async (_request, reply) => reply.redirect('/simple/requests/', 301))
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, base: `${base}/simple/`, seen }
}

let upstream: Awaited<ReturnType<typeof startUpstream>>
const gateways: TestGateway[] = []

async function gateway(pypi: ConfigInput['pypi']): Promise<TestGateway> {
  const gw = await createTestGateway({ config: { pypi } })
  gateways.push(gw)
  const product = await seedProduct(gw.catalog.db, gw.account, { strategy: 'LICENSED' })
  await seedPackage(gw.catalog.db, gw.account, { product, key: 'private-pkg', engine: 'pypi' })
  const policy = await seedPolicy(gw.catalog.db, gw.account, { product, authenticationStrategy: 'LICENSE' })
  await seedLicense(gw.catalog.db, gw.account, { policy, key: 'SECRET-KEY' })
  return gw
}

beforeAll(async () => {
  upstream = await startUpstream()
})

afterAll(async () => {
  for (const gw of gateways) await gw.close()
  await upstream?.app.close()
})

describe('pass-through: redirect (default)', () => {
  it('builds upstream URLs with one trailing slash and without credentials', () => {
    expect(upstreamProjectUrl('https://mirror.example/pypi/simple', 'foo')).toBe(
      'https://mirror.example/pypi/simple/foo/',
    )
    expect(upstreamProjectUrl('https://u:p@mirror.example/simple/', 'foo')).toBe('https://mirror.example/simple/foo/')
  })

  it('redirects to the configured upstream with 307', async () => {
    const gw = await gateway({ upstream: 'https://mirror.example/root/simple' })
    const res = await gw.app.inject({ url: '/v1/engines/pypi/simple/Requests/' })
    expect(res.statusCode).toBe(307)
    expect(res.headers.location).toBe('https://mirror.example/root/simple/requests/')
  })
})

describe('pass-through: off', () => {
  it('answers 404 for names that are not packages of the account', async () => {
    const gw = await gateway({ passthrough: 'off' })
    const res = await gw.app.inject({ url: '/v1/engines/pypi/simple/requests/' })
    expect(res.statusCode).toBe(404)
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(res.body).toBe('Not Found')
    expect((await gw.app.inject({ url: '/v1/engines/pypi/simple/private-pkg/' })).statusCode).toBe(401)
  })
})

describe('pass-through: proxy', () => {
  it('serves the upstream page unchanged, forwarding Accept but never the credentials', async () => {
    const gw = await gateway({ passthrough: 'proxy', upstream: upstream.base })
    upstream.seen.length = 0
    const res = await gw.app.inject({
      url: '/v1/engines/pypi/simple/Requests',
      headers: { accept: PIP_ACCEPT, authorization: basicAuth('license', 'SECRET-KEY') },
    })
    expect(res.statusCode).toBe(200)
    expect(res.body).toBe(UPSTREAM_PAGE)
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(res.headers.etag).toBe('"up-1"')
    expect(upstream.seen).toHaveLength(1)
    expect(upstream.seen[0].url).toBe('/simple/requests/')
    expect(upstream.seen[0].headers.accept).toBe(PIP_ACCEPT)
    expect(upstream.seen[0].headers.authorization).toBeUndefined()
    expect(JSON.stringify(upstream.seen[0].headers)).not.toContain('SECRET-KEY')
  })

  it('answers HEAD with the upstream headers and no body', async () => {
    const gw = await gateway({ passthrough: 'proxy', upstream: upstream.base })
    const res = await gw.app.inject({ method: 'HEAD', url: '/v1/engines/pypi/simple/requests/' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(res.body).toBe('')
  })

  it('follows upstream redirects and passes 304 through', async () => {
    const gw = await gateway({ passthrough: 'proxy', upstream: upstream.base })
    const moved = await gw.app.inject({ url: '/v1/engines/pypi/simple/moved/' })
    expect(moved.statusCode).toBe(200)
    expect(moved.body).toBe(UPSTREAM_PAGE)
    const cached = await gw.app.inject({
      url: '/v1/engines/pypi/simple/requests/',
      headers: { 'if-none-match': '"up-1"' },
    })
    expect(cached.statusCode).toBe(304)
    expect(cached.body).toBe('')
  })

  it('answers 404 when the upstream has no such project, 502 when it fails', async () => {
    const gw = await gateway({ passthrough: 'proxy', upstream: upstream.base })
    const missing = await gw.app.inject({ url: '/v1/engines/pypi/simple/nothing/' })
    expect(missing.statusCode).toBe(404)
    expect(missing.body).toBe('Not Found')
    const broken = await gw.app.inject({ url: '/v1/engines/pypi/simple/broken/' })
    expect(broken.statusCode).toBe(502)
    expect(broken.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(broken.body).toBe('Bad Gateway: the upstream index answered 500')
  })

  it('answers 502 when the upstream does not answer in time, instead of hanging', async () => {
    const gw = await gateway({ passthrough: 'proxy', upstream: upstream.base, upstreamTimeoutMs: 300 })
    const started = Date.now()
    const res = await gw.app.inject({ url: '/v1/engines/pypi/simple/slow/' })
    expect(res.statusCode).toBe(502)
    expect(res.body).toBe('Bad Gateway: the upstream index did not answer in time')
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('answers 502 when the upstream cannot be reached', async () => {
    const closed = Fastify()
    const base = await closed.listen({ host: '127.0.0.1', port: 0 })
    await closed.close()
    const gw = await gateway({ passthrough: 'proxy', upstream: `${base}/simple/`, upstreamTimeoutMs: 1000 })
    const res = await gw.app.inject({ url: '/v1/engines/pypi/simple/requests/' })
    expect(res.statusCode).toBe(502)
    expect(res.body).toBe('Bad Gateway: the upstream index could not be reached')
  })

  it('never proxies a name of the account, whatever its spelling', async () => {
    const gw = await gateway({ passthrough: 'proxy', upstream: upstream.base })
    upstream.seen.length = 0
    const res = await gw.app.inject({ url: '/v1/engines/pypi/simple/Private_Pkg/' })
    expect(res.statusCode).toBe(401)
    expect(upstream.seen).toHaveLength(0)
  })
})
