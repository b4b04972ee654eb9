import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { PkgwayConfig } from '../../config/schema.ts'
import type { Catalog } from '../catalog/db.ts'
import type { BlobInfo, BlobStore } from '../storage/blob-store.ts'
import { type SigningKeys, toSigningKeys } from '../storage/signing-keys.ts'

/** Called after the gateway's signed PUT route stored an object (upload processing hooks in here). */
export type UploadListener = (key: string, info: BlobInfo) => Promise<void>

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
    /** Path prefix the gateway is mounted under ('' when it runs alone). */
    mountPrefix: string
    uploadListeners: UploadListener[]
    /** Absolute base URL of the gateway for this request, ending in '/'. */
    baseUrl(request: FastifyRequest): string
  }
}

/** services decorates the gateway with its configuration, catalog and blob store. */
async function services(fastify: FastifyInstance, opts: Services & { mountPrefix: string }) {
  fastify.decorate('config', opts.config)
  fastify.decorate('catalog', opts.catalog)
  fastify.decorate('blobs', opts.blobs)
  fastify.decorate('signingKeys', toSigningKeys(opts.signingSecret))
  fastify.decorate('mountPrefix', opts.mountPrefix)
  fastify.decorate('uploadListeners', [] as UploadListener[])
  const configured = opts.config.publicUrl ? opts.config.publicUrl.replace(/\/*$/, '/') : null
  fastify.decorate('baseUrl', (request: FastifyRequest) => {
    if (configured) return configured
    // request.protocol and request.host honour X-Forwarded-* only when trustProxy is on.
    return `${request.protocol}://${request.host}${opts.mountPrefix}/`
  })
}

export default fp(services, { name: 'pkgway-services' })
