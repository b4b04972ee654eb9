import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { PkgwayConfig } from '../../config/schema.ts'
import type { Catalog } from '../catalog/db.ts'
import { GatewayError } from '../errors.ts'
import { recordRevisionLag } from '../metrics.ts'
import { ReadModel } from '../read-model/read-model.ts'
import type { BlobInfo, BlobStore } from '../storage/blob-store.ts'
import { withUrlReuse } from '../storage/url-reuse.ts'
import { type SigningKeys, toSigningKeys } from '../storage/signing-keys.ts'

/** What the gateway's signed PUT route may accept for one upload key, and where it reports the outcome. */
export interface UploadClaim {
  /** Most bytes the PUT may carry: the declared size, else `storage.maxUploadSize`. */
  maxBytes: number
  /** The bytes are stored at the upload key. */
  stored(info: BlobInfo): Promise<void>
  /** The PUT broke off; the upload attempt is spent. */
  broken(reason: string): Promise<void>
}

/**
 * UploadGate claims an upload key for one PUT carrying `length` bytes (undefined when chunked); it throws the error
 * to answer (404 no such upload, 409 not waiting for one, 413 too large) instead of claiming.
 */
export type UploadGate = (key: string, length: number | undefined) => Promise<UploadClaim>

export interface Services {
  config: PkgwayConfig
  catalog: Catalog
  blobs: BlobStore
  /** Secret of gateway-signed URLs: a configured one, or the keys kept in the catalog (catalog/signing-keys.ts). */
  signingSecret: string | SigningKeys
}

declare module 'fastify' {
  interface FastifyInstance {
    config: PkgwayConfig
    catalog: Catalog
    blobs: BlobStore
    /** The keys of gateway-signed URLs: sign with current(), verify with accepted(). */
    signingKeys: SigningKeys
    /** The read side every route reads through (gateway/read-model). */
    readModel: ReadModel
    /** Path prefix the gateway is mounted under ('' when it runs alone). */
    mountPrefix: string
    /** Decides which PUTs the signed blob route accepts (set by the API: artifacts' upload attempts). */
    uploadGate: UploadGate | null
    /**
     * Base of every link and redirect to the gateway itself, ending in '/': `publicUrl` when configured, else
     * the path-absolute mount prefix (`/` or `/dist/`), so that no link ever names a host the client chose.
     */
    linkBase: string
    /**
     * absoluteBase is the gateway's absolute base URL ending in '/', for the few URLs that must be absolute (the
     * keygen CLI's upload URL): `publicUrl`, else the request's host when it is in `allowedHosts`; any other
     * host is a 400.
     */
    absoluteBase(request: FastifyRequest): string
  }
}

/** services decorates the gateway with its configuration, catalog, read model and blob store. */
async function services(fastify: FastifyInstance, opts: Services & { mountPrefix: string }) {
  fastify.decorate('config', opts.config)
  fastify.decorate('catalog', opts.catalog)
  fastify.decorate('blobs', withUrlReuse(opts.blobs, opts.config.storage.presignTtl))
  fastify.decorate('signingKeys', toSigningKeys(opts.signingSecret))
  fastify.decorate('mountPrefix', opts.mountPrefix)
  fastify.decorate('uploadGate', null as UploadGate | null)
  fastify.decorate('readModel', new ReadModel(opts.catalog.db, opts.catalog.revisions))
  const configured = opts.config.publicUrl ? opts.config.publicUrl.replace(/\/*$/, '/') : null
  fastify.decorate('linkBase', configured ?? `${opts.mountPrefix}/`)
  const allowed = new Set(opts.config.allowedHosts.map((h) => h.toLowerCase()))
  fastify.decorate('absoluteBase', (request: FastifyRequest) => {
    if (configured) return configured
    // request.host and request.hostname honour X-Forwarded-Host only when trustProxy is on.
    const host = request.host.toLowerCase()
    if (!allowed.has(host) && !allowed.has(request.hostname.toLowerCase())) {
      throw new GatewayError(
        'HOST_NOT_ALLOWED',
        'The Host header names no host this gateway serves (set publicUrl or allowedHosts)',
        400,
      )
    }
    return `${request.protocol}://${request.host}${opts.mountPrefix}/`
  })
  const stopLag = opts.catalog.revisions.onLag(recordRevisionLag)
  await opts.catalog.revisions.start()
  fastify.addHook('onClose', async () => {
    stopLag()
    await opts.catalog.revisions.stop()
  })
}

export default fp(services, { name: 'pkgway-services' })
