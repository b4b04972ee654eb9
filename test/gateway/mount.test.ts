import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pkgway } from '../../gateway/app.ts'
import { uploadKey } from '../../gateway/storage/keys.ts'
import { seedAccount, seedArtifact, seedProduct, seedRelease } from '../helpers/seed.ts'
import { openGatewayServices, type GatewayServices } from './fixture.ts'

describe('mounting the gateway under a prefix of another Fastify server', () => {
  let services: GatewayServices
  let host: FastifyInstance
  let gateway: FastifyInstance | undefined

  let key: string

  beforeAll(async () => {
    services = await openGatewayServices()
    // Gateway-signed PUTs are only taken for an artifact waiting for its upload.
    const { db } = services.catalog
    const account = await seedAccount(db)
    const release = await seedRelease(db, account, { product: await seedProduct(db, account, { name: 'Mounted' }) })
    const artifact = await seedArtifact(db, account, { release, filename: 'app.tar.gz', status: 'WAITING' })
    key = uploadKey(account.id, release.id, artifact.id)
    await db.updateTable('artifacts').set({ upload_key: key }).where('id', '=', artifact.id).execute()
    host = Fastify({ logger: false })
    host.get('/', async () => ({ app: 'host' }))
    // onRegister hands over the gateway's own context, whose decorators build the URLs clients receive.
    host.addHook('onRegister', (instance) => {
      if (instance.prefix === '/dist' && !gateway) gateway = instance
    })
    await host.register(pkgway, { prefix: '/dist', ...services })
    host.get('/upload-url', async (request) => {
      const absolute = gateway!.absoluteBase(request)
      return {
        linkBase: gateway!.linkBase,
        absolute,
        get: await gateway!.blobs.redirectUrl(key, 'GET', { baseUrl: gateway!.linkBase }),
        put: await gateway!.blobs.uploadUrl(key, { baseUrl: absolute }),
      }
    })
    await host.ready()
  })
  afterAll(async () => {
    await host?.close()
    await services?.close()
  })

  it('answers /dist/v1/ping and /dist/healthz', async () => {
    for (const url of ['/dist/v1/ping', '/dist/healthz']) {
      const res = await host.inject({ url })
      expect(res.statusCode, url).toBe(200)
      expect(res.json()).toEqual({ status: 'ok' })
      expect(res.headers['x-request-id']).toBeTruthy()
    }
  })

  it('leaves the host routes alone and does not answer outside its prefix', async () => {
    expect((await host.inject({ url: '/' })).json()).toEqual({ app: 'host' })
    const outside = await host.inject({ url: '/v1/ping' })
    expect(outside.statusCode).toBe(404)
    expect(outside.headers['x-request-id']).toBeUndefined()
  })

  it('answers unknown routes under the prefix with its JSON:API 404', async () => {
    const res = await host.inject({ url: '/dist/v1/nothing' })
    expect(res.statusCode).toBe(404)
    expect(res.headers['content-type']).toBe('application/vnd.api+json; charset=utf-8')
    expect(res.json().errors[0].code).toBe('NOT_FOUND')
  })

  it('puts the prefix into generated blob URLs, and those URLs work', async () => {
    const urls = (await host.inject({ url: '/upload-url', headers: { host: 'localhost:8080' } })).json()
    expect(urls.linkBase).toBe('/dist/')
    expect(urls.absolute).toBe('http://localhost:8080/dist/')
    expect(urls.get.startsWith(`/dist/v1/blobs/${key}?`)).toBe(true)
    expect(urls.put.startsWith(`http://localhost:8080/dist/v1/blobs/${key}?`)).toBe(true)

    const target = (u: string) =>
      new URL(u, 'http://localhost:8080').pathname + new URL(u, 'http://localhost:8080').search
    const put = await host.inject({
      method: 'PUT',
      url: target(urls.put),
      headers: { 'content-type': 'application/octet-stream' },
      payload: Buffer.from('mounted bytes'),
    })
    expect(put.statusCode).toBe(200)
    const get = await host.inject({ url: target(urls.get) })
    expect(get.statusCode).toBe(200)
    expect(get.body).toBe('mounted bytes')
  })

  it('never builds an absolute URL from a Host that is not allowed', async () => {
    const res = await host.inject({ url: '/upload-url', headers: { host: 'evil.example' } })
    expect(res.statusCode).toBe(400)
    expect(res.body).not.toContain('evil.example/')
  })
})
