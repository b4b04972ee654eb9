import type { Readable } from 'node:stream'
import { GatewayError } from '../errors.ts'
import { NETWORK_ERROR_CODES } from '../network-errors.ts'

/** BlobInfo describes a stored object. */
export interface BlobInfo {
  key: string
  size: number
  /** Quoted strong ETag, as sent in HTTP headers. */
  etag: string
  lastModified: Date
  contentType?: string
}

export interface ReadOptions {
  /** First byte to return. */
  offset?: number
  /** Number of bytes to return from offset; to the end when absent. */
  length?: number
  signal?: AbortSignal
}

export interface WriteOptions {
  /** Expected size; the write fails and leaves nothing behind when the body has another length. */
  size?: number
  contentType?: string
  signal?: AbortSignal
}

export interface UrlOptions {
  /** Lifetime in seconds; the store's default when absent. */
  ttl?: number
  /** Base of links to the gateway, ending in `/` (its linkBase, or an absolute URL for uploads), for stores that sign gateway URLs. */
  baseUrl: string
  /** Suggested download filename (Content-Disposition). */
  filename?: string
  /** Exact size of an upload: stores that presign sign it into the URL, so no other length is accepted. */
  size?: number
}

/**
 * BlobStore is the storage contract every backend implements (filesystem, S3). Keys are `/`-separated
 * relative paths built by keys.ts; stores validate them and never let one escape their root or bucket prefix.
 */
export interface BlobStore {
  /** Name of the backend ('filesystem' | 's3'), as it appears in logs and errors. */
  readonly name: string
  /** Stat retrieves size, ETag and modification time of the object at key; throws BlobNotFoundError. */
  stat(key: string): Promise<BlobInfo>
  /** Read streams the object at key from an optional byte offset; throws BlobNotFoundError. */
  read(key: string, opts?: ReadOptions): Promise<Readable>
  /** Write stores body at key; the object becomes visible only once it is complete and of the expected size. */
  write(key: string, body: Readable | Buffer, opts?: WriteOptions): Promise<BlobInfo>
  /**
   * Copy stores a copy of the object at from under to, replacing what was there at once (readers see the old
   * object or the new one, never a part); throws BlobNotFoundError when from is missing.
   */
  copy(from: string, to: string, opts?: { signal?: AbortSignal }): Promise<BlobInfo>
  /** Move is {@link copy} followed by deleting from (a rename where the backend has one). */
  move(from: string, to: string, opts?: { signal?: AbortSignal }): Promise<BlobInfo>
  /** Delete removes the object at key; deleting a missing object succeeds. */
  delete(key: string): Promise<void>
  /** List yields every key under prefix. */
  list(prefix: string): AsyncIterable<string>
  /** RedirectUrl returns a URL a client may fetch the object from without other credentials. */
  redirectUrl(key: string, method: 'GET' | 'HEAD', opts: UrlOptions): Promise<string>
  /** UploadUrl returns a URL a client may PUT the object's bytes to without other credentials. */
  uploadUrl(key: string, opts: UrlOptions): Promise<string>
  /** Check verifies the store is reachable and writable at start. */
  check(): Promise<void>
  /**
   * SweepTemporary removes what interrupted writes left behind, for stores that keep partial writes themselves
   * (the filesystem store's `.tmp`; S3 leaves incomplete multipart uploads to a bucket lifecycle rule).
   */
  sweepTemporary?(): Promise<SweepResult>
}

/** What {@link BlobStore.sweepTemporary} removed. */
export interface SweepResult {
  files: number
  bytes: number
}

export class BlobNotFoundError extends GatewayError {
  constructor(
    readonly key: string,
    readonly store: string,
  ) {
    super('BLOB_NOT_FOUND', `${store}: blob not found: ${key}`, 404)
  }
}

export class InvalidKeyError extends GatewayError {
  constructor(
    readonly key: string,
    readonly store: string,
  ) {
    super('BLOB_KEY_INVALID', `${store}: invalid blob key: ${JSON.stringify(key)}`, 400)
  }
}

export class SizeMismatchError extends GatewayError {
  constructor(
    readonly key: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super('BLOB_SIZE_MISMATCH', `expected ${expected} bytes but received ${actual}`, 400)
  }
}

/** Errno codes of a store that cannot serve now: unreachable, timed out, out of space or file handles, failing I/O. */
const UNAVAILABLE_CODES = new Set([
  ...NETWORK_ERROR_CODES,
  'EIO',
  'ENOSPC',
  'EDQUOT',
  'EROFS',
  'EMFILE',
  'ENFILE',
  'ESTALE',
  'EAGAIN',
  'EBUSY',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
])
/** AWS SDK error names of a backend that is overloaded, failing or too slow to answer. */
const UNAVAILABLE_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'ServiceUnavailable', 'SlowDown', 'InternalError'])

/**
 * storageUnavailable tells whether a backend failure means the store cannot serve now (so a retry later may
 * work), as opposed to a refusal such as AccessDenied: a network or I/O errno, an SDK timeout, or an HTTP 5xx.
 */
export function storageUnavailable(cause: unknown): boolean {
  for (let e = cause, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const { code, name, $metadata } = e as { code?: unknown; name?: unknown; $metadata?: { httpStatusCode?: number } }
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true
    if (typeof name === 'string' && UNAVAILABLE_NAMES.has(name)) return true
    if (($metadata?.httpStatusCode ?? 0) >= 500) return true
    if (e instanceof AggregateError && e.errors.some(storageUnavailable)) return true
    e = (e as { cause?: unknown }).cause
  }
  return false
}

/**
 * BlobStoreError is any other backend failure, with the backend's reason in one line. `unavailable` (derived from
 * the cause unless given) makes it a 503 with Retry-After instead of a 502 (gateway/outage.ts).
 */
export class BlobStoreError extends GatewayError {
  readonly unavailable: boolean

  constructor(store: string, detail: string, cause?: unknown, unavailable = storageUnavailable(cause)) {
    super('STORAGE_ERROR', `${store}: ${detail}`, 502, { cause })
    this.unavailable = unavailable
  }
}

// Printable, no backslash, no NUL; segments are checked separately.
const keyPattern = /^[^\\\u0000-\u001f\u007f]+$/

/** validateKey rejects keys that are empty, absolute, contain `.`/`..`/empty segments or control characters. */
export function validateKey(key: string, store: string): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > 1024 || !keyPattern.test(key)) {
    throw new InvalidKeyError(key, store)
  }
  const segments = key.split('/')
  if (segments.some((s) => s === '' || s === '.' || s === '..')) throw new InvalidKeyError(key, store)
  return key
}
