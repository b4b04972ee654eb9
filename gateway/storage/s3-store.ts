import { type Readable, Transform } from 'node:stream'
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { GatewayError } from '../errors.ts'
import {
  type BlobInfo,
  BlobNotFoundError,
  type BlobStore,
  BlobStoreError,
  type ReadOptions,
  SizeMismatchError,
  type UrlOptions,
  validateKey,
  type WriteOptions,
} from './blob-store.ts'
import { encodeKeyPath } from './signed-url.ts'

export interface S3StoreOptions {
  bucket: string
  region: string
  endpoint?: string
  publicEndpoint?: string
  forcePathStyle: boolean
  accessKeyId?: string
  secretAccessKey?: string
  prefix: string
  presignTtl: number
  uploadTtl: number
}

const CONNECT_TIMEOUT_MS = 5_000
/** Upper bound of the start-up check, retries included, so `pkgway serve` never hangs on a silent endpoint. */
const CHECK_TIMEOUT_MS = 10_000

function clientConfig(opts: S3StoreOptions, endpoint: string | undefined): S3ClientConfig {
  return {
    region: opts.region,
    endpoint,
    forcePathStyle: opts.forcePathStyle,
    credentials:
      opts.accessKeyId && opts.secretAccessKey
        ? { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey }
        : undefined,
    // see: clients.md §6. Default checksums corrupt streamed bodies on some servers and put an empty-body
    // CRC into presigned PUT URLs, which real S3 then rejects for any non-empty upload.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 2,
    // The SDK waits forever for a TCP connection by default; an unreachable endpoint must fail fast.
    requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS },
  }
}

/**
 * S3Store keeps blobs in an S3 bucket (or any S3-compatible server) under an optional key prefix.
 * Downloads and uploads are presigned; the host is signed, and Content-Length when an upload's size is known,
 * never Content-Type, because clients such as the keygen CLI pick their own.
 */
export class S3Store implements BlobStore {
  readonly name = 's3'
  private readonly client: S3Client
  private readonly presigner: S3Client

  constructor(private readonly opts: S3StoreOptions) {
    this.client = new S3Client(clientConfig(opts, opts.endpoint))
    this.presigner = opts.publicEndpoint ? new S3Client(clientConfig(opts, opts.publicEndpoint)) : this.client
  }

  private objectKey(key: string): string {
    validateKey(key, this.name)
    return this.opts.prefix ? `${this.opts.prefix.replace(/\/+$/, '')}/${key}` : key
  }

  /** toStoreError maps SDK failures to the store's typed errors in one place. */
  private toStoreError(err: unknown, key: string): never {
    if (err instanceof GatewayError) throw err
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number }; message?: string }
    if (e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404) {
      throw new BlobNotFoundError(key, this.name)
    }
    if (e.name === 'AbortError') throw err
    throw new BlobStoreError(this.name, `${e.name ?? 'error'} on ${key}: ${e.message ?? ''}`.trim(), err)
  }

  async stat(key: string): Promise<BlobInfo> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.opts.bucket, Key: this.objectKey(key) }))
      return {
        key,
        size: head.ContentLength ?? 0,
        etag: head.ETag ?? '""',
        lastModified: head.LastModified ?? new Date(0),
        contentType: head.ContentType,
      }
    } catch (err) {
      this.toStoreError(err, key)
    }
  }

  async read(key: string, opts: ReadOptions = {}): Promise<Readable> {
    const start = opts.offset ?? 0
    const range =
      opts.offset === undefined && opts.length === undefined
        ? undefined
        : `bytes=${start}-${opts.length === undefined ? '' : start + opts.length - 1}`
    try {
      const res = await this.client.send(
        new GetObjectCommand({ Bucket: this.opts.bucket, Key: this.objectKey(key), Range: range }),
        { abortSignal: opts.signal },
      )
      return res.Body as Readable
    } catch (err) {
      this.toStoreError(err, key)
    }
  }

  async write(key: string, body: Readable | Buffer, opts: WriteOptions = {}): Promise<BlobInfo> {
    const Key = this.objectKey(key)
    try {
      if (Buffer.isBuffer(body)) {
        if (opts.size !== undefined && body.length !== opts.size)
          throw new SizeMismatchError(key, opts.size, body.length)
        await this.client.send(
          new PutObjectCommand({ Bucket: this.opts.bucket, Key, Body: body, ContentType: opts.contentType }),
          { abortSignal: opts.signal },
        )
      } else {
        // Multipart upload: the object appears only when CompleteMultipartUpload succeeds.
        let written = 0
        const counted = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            written += chunk.length
            cb(null, chunk)
          },
        })
        body.on('error', (err) => counted.destroy(err))
        body.pipe(counted)
        const upload = new Upload({
          client: this.client,
          params: { Bucket: this.opts.bucket, Key, Body: counted, ContentType: opts.contentType },
        })
        opts.signal?.addEventListener('abort', () => void upload.abort(), { once: true })
        await upload.done()
        if (opts.size !== undefined && written !== opts.size) {
          await this.client.send(new DeleteObjectCommand({ Bucket: this.opts.bucket, Key }))
          throw new SizeMismatchError(key, opts.size, written)
        }
      }
    } catch (err) {
      if (err instanceof SizeMismatchError) throw err
      this.toStoreError(err, key)
    }
    return this.stat(key)
  }

  async copy(from: string, to: string, opts: { signal?: AbortSignal } = {}): Promise<BlobInfo> {
    // A server-side copy: atomic, and the bytes never travel through the gateway.
    const CopySource = `${this.opts.bucket}/${encodeKeyPath(this.objectKey(from))}`
    try {
      await this.client.send(new CopyObjectCommand({ Bucket: this.opts.bucket, Key: this.objectKey(to), CopySource }), {
        abortSignal: opts.signal,
      })
    } catch (err) {
      this.toStoreError(err, from)
    }
    return this.stat(to)
  }

  async move(from: string, to: string, opts: { signal?: AbortSignal } = {}): Promise<BlobInfo> {
    const info = await this.copy(from, to, opts)
    await this.delete(from)
    return info
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.opts.bucket, Key: this.objectKey(key) }))
    } catch (err) {
      try {
        this.toStoreError(err, key)
      } catch (mapped) {
        if (mapped instanceof BlobNotFoundError) return
        throw mapped
      }
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    const base = this.opts.prefix ? `${this.opts.prefix.replace(/\/+$/, '')}/` : ''
    let token: string | undefined
    do {
      const page = await this.client
        .send(new ListObjectsV2Command({ Bucket: this.opts.bucket, Prefix: base + prefix, ContinuationToken: token }))
        .catch((err) => this.toStoreError(err, prefix))
      for (const obj of page.Contents ?? []) {
        if (obj.Key) yield obj.Key.slice(base.length)
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
  }

  async redirectUrl(key: string, method: 'GET' | 'HEAD', opts: UrlOptions): Promise<string> {
    const params = { Bucket: this.opts.bucket, Key: this.objectKey(key) }
    const command =
      method === 'HEAD'
        ? new HeadObjectCommand(params)
        : new GetObjectCommand({
            ...params,
            ResponseContentDisposition: opts.filename ? contentDisposition(opts.filename) : undefined,
          })
    return getSignedUrl(this.presigner, command, { expiresIn: opts.ttl ?? this.opts.presignTtl })
  }

  async uploadUrl(key: string, opts: UrlOptions): Promise<string> {
    // A declared size is signed as Content-Length: S3 then refuses a body of any other length.
    const command = new PutObjectCommand({
      Bucket: this.opts.bucket,
      Key: this.objectKey(key),
      ContentLength: opts.size,
    })
    return getSignedUrl(this.presigner, command, { expiresIn: opts.ttl ?? this.opts.uploadTtl })
  }

  async check(): Promise<void> {
    const deadline = AbortSignal.timeout(CHECK_TIMEOUT_MS)
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.opts.bucket }), { abortSignal: deadline })
    } catch (err) {
      const e = err as { name?: string; message?: string; code?: string }
      const where = this.opts.endpoint ?? `region ${this.opts.region}`
      const reason = deadline.aborted
        ? `no answer within ${CHECK_TIMEOUT_MS / 1000} s`
        : `${e.code ?? e.name ?? 'error'}${e.message ? `: ${e.message}` : ''}`
      throw new BlobStoreError(this.name, `bucket ${this.opts.bucket} at ${where} is not reachable (${reason})`, err)
    }
  }
}

/** contentDisposition builds an attachment header with an RFC 6266 UTF-8 filename. */
export function contentDisposition(filename: string): string {
  const base = filename.split('/').pop() ?? filename
  const ascii = base.replace(/[^\x20-\x7e]|["\\]/g, '_')
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(base)}`
}
