import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { GatewayError } from '../errors.ts'
import { recordUploadBytes } from '../metrics.ts'
import type { Readable } from 'node:stream'
import { type BlobInfo, SizeMismatchError, validateKey } from './blob-store.ts'
import { boundedBody } from './bounded-body.ts'
import { serveBlob } from './serve-blob.ts'
import { BLOB_ROUTE, verifySignedBlob } from './signed-url.ts'

type BlobRequest = FastifyRequest<{ Params: { '*': string }; Querystring: Record<string, string> }>

/**
 * signedKey verifies the URL's signature for this method and returns the blob key it grants. A signature that
 * matches no known key makes the keys reload once, in case another instance rotated them.
 */
async function signedKey(fastify: FastifyInstance, request: BlobRequest): Promise<string> {
  const key = request.params['*']
  try {
    validateKey(key, fastify.blobs.name)
  } catch {
    throw new GatewayError('SIGNATURE_INVALID', 'The signed URL is invalid', 403)
  }
  const keys = fastify.signingKeys
  let check = verifySignedBlob(keys.accepted(), request.method, key, request.query)
  if (check === 'invalid' && (await keys.reload()))
    check = verifySignedBlob(keys.accepted(), request.method, key, request.query)
  if (check === 'expired') throw new GatewayError('SIGNATURE_EXPIRED', 'The signed URL has expired', 403)
  if (check !== 'ok') throw new GatewayError('SIGNATURE_INVALID', 'The signed URL is invalid', 403)
  return key
}

/**
 * blobRoute serves gateway-signed URLs for stores that cannot presign (filesystem): GET/HEAD with Range and
 * ETag, and PUT, which answers exactly 200 because the keygen CLI treats any other status as a failure. A PUT is
 * accepted once, while {@link FastifyInstance.uploadGate} lets it, and is cut off past the bytes it may carry or
 * when the client stalls (`storage.uploadIdleTimeoutMs`).
 * see: ../shared/spec/keygen-cli-wire.md §3.3–3.4
 */
export async function blobRoute(fastify: FastifyInstance) {
  // Uploads are raw bytes of any type; hand the stream through untouched.
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('*', (_request, payload, done) => done(null, payload))

  fastify.get(`/${BLOB_ROUTE}*`, async (request: BlobRequest, reply: FastifyReply) => {
    const key = await signedKey(fastify, request)
    const filename = typeof request.query.filename === 'string' ? request.query.filename : undefined
    reply.header('Cache-Control', 'private, max-age=0')
    return serveBlob(fastify.blobs, key, request, reply, { filename })
  })

  // A refused or broken upload leaves unread bytes on the connection: close it rather than read them all.
  fastify.addHook('onSend', async (request, reply) => {
    if (request.method === 'PUT' && reply.statusCode >= 400) reply.header('Connection', 'close')
  })

  fastify.put(`/${BLOB_ROUTE}*`, async (request: BlobRequest, reply: FastifyReply) => {
    const key = await signedKey(fastify, request)
    const declared = request.headers['content-length']
    const size = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : undefined
    if (!fastify.uploadGate) throw new GatewayError('UPLOAD_CLOSED', 'This URL accepts no uploads', 409)
    const claim = await fastify.uploadGate(key, size)
    const raw = request.body as Readable | undefined
    const body = raw
      ? boundedBody(raw, { maxBytes: claim.maxBytes, idleMs: fastify.config.storage.uploadIdleTimeoutMs })
      : Buffer.alloc(0)
    let info: BlobInfo
    try {
      info = await fastify.blobs.write(key, body, { size })
    } catch (err) {
      const failure =
        err instanceof SizeMismatchError ? new GatewayError('UPLOAD_INCOMPLETE', err.message, 400) : (err as Error)
      await claim.broken(
        failure instanceof GatewayError && failure.statusCode < 500 ? failure.message : 'storage failed',
      )
      throw failure
    }
    recordUploadBytes(info.size)
    await claim.stored(info)
    return reply.code(200).header('ETag', info.etag).send()
  })
}
