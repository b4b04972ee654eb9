import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import tarStream from 'tar-stream'
import { looksLikeManifest } from '../../formats/oci/manifest.ts'
import { type BlobStore, BlobNotFoundError } from '../../gateway/storage/blob-store.ts'
import { ociBlobKey } from '../../gateway/storage/keys.ts'
import { RejectedUpload } from '../process-upload/errors.ts'
import { blobPathDigest, type LayoutBlob, type ScannedLayout } from './image-layout.ts'
import { type OciIngestLimits, ociLimitReasons } from './limits.ts'

/**
 * The streaming half of image ingestion: one pass over an image layout tarball with tar-stream. Every entry is
 * checked (no links, devices, absolute or `..` paths, bounded count and sizes); every `blobs/<alg>/<hex>` entry is
 * hashed while it streams into the blob store under its content-addressed key (ociBlobKey), unless the store holds
 * that digest already, and the store only keeps it if its content matches its name. Small JSON blobs that may be
 * manifests are kept in memory for the walk (image-layout.ts); layers never are. The whole tarball is hashed too,
 * so the caller can tell the bytes are the ones the upload worker verified.
 */

export interface ScanOptions {
  blobs: BlobStore
  accountId: string
  limits: OciIngestLimits
  signal?: AbortSignal
}

export interface ScanResult {
  layout: ScannedLayout
  /** Hex SHA-256 and size of the whole tarball. */
  sha256: string
  size: number
  /** Blobs written to the store, and blobs it already held. */
  stored: number
  reused: number
}

/** A tar entry as tar-stream's async iterator yields it. */
type TarEntry = AsyncIterable<Buffer> & { header: tarStream.Header }

/** Errors of the source stream (storage): the job retries. */
class SourceError extends Error {}
/** Errors of the entry handler (storage writes, or a RejectedUpload): passed on as they are. */
class HandlerError extends Error {}

/**
 * scanLayout reads the tarball once. It throws {@link RejectedUpload} for anything wrong with the tarball, and
 * storage errors as they are (so the job retries).
 */
export async function scanLayout(source: Readable, opts: ScanOptions): Promise<ScanResult> {
  const extract = tarStream.extract()
  let tarFailure: unknown = null
  extract.on('error', (err: unknown) => {
    tarFailure ??= err
  })
  const whole = createHash('sha256')
  let size = 0
  const feeding = feed(source, extract, (chunk) => {
    size += chunk.length
    if (size > opts.limits.maxTarballBytes) throw new RejectedUpload(ociLimitReasons.tarball(opts.limits))
    whole.update(chunk)
  })
  const scanner = new LayoutScanner(opts)
  try {
    for await (const entry of extract) {
      try {
        await scanner.entry(entry as unknown as TarEntry)
      } catch (err) {
        throw new HandlerError('entry failed', { cause: err })
      }
    }
    await feeding
  } catch (err) {
    source.destroy()
    extract.destroy()
    await feeding.catch(() => {})
    // A broken tarball fails the entry being read too: the tar error is the one to report.
    if (tarFailure !== null && !(tarFailure instanceof SourceError)) throw tarReason(tarFailure)
    if (err instanceof SourceError || err instanceof HandlerError) throw err.cause
    throw tarReason(err)
  }
  return { layout: scanner.layout(), sha256: whole.digest('hex'), size, ...scanner.counts }
}

/** feed writes the source into the extractor with backpressure; its own failures are {@link SourceError}s. */
async function feed(source: Readable, extract: tarStream.Extract, onChunk: (chunk: Buffer) => void): Promise<void> {
  try {
    for await (const chunk of source) {
      onChunk(chunk as Buffer)
      if (extract.destroyed) return
      if (!extract.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            extract.off('drain', done)
            extract.off('close', done)
            resolve()
          }
          extract.on('drain', done)
          extract.on('close', done)
        })
      }
    }
    // streamx's end() takes no chunk; its typings want one.
    if (!extract.destroyed) (extract as unknown as { end(): void }).end()
  } catch (err) {
    const wrapped = new SourceError('source failed', { cause: err })
    extract.destroy(wrapped)
    throw wrapped
  }
}

function tarReason(err: unknown): RejectedUpload {
  if (err instanceof RejectedUpload) return err
  const message = err instanceof Error ? err.message : String(err)
  if (/unexpected end of data/i.test(message)) return new RejectedUpload('the image tarball is truncated')
  return new RejectedUpload(`the image tarball is not a valid tar archive: ${message.split('.')[0]}`)
}

const unsafe = (raw: string, name: string) =>
  raw.startsWith('/') ||
  /^[A-Za-z]:/.test(raw) ||
  raw.includes('\\') ||
  raw.includes('\0') ||
  name.split('/').includes('..')

class LayoutScanner {
  readonly counts = { stored: 0, reused: 0 }
  #entries = 0
  #kept = 0
  #ociLayout: Buffer | null = null
  #indexJson: Buffer | null = null
  readonly #blobs = new Map<string, LayoutBlob>()
  readonly #manifests = new Map<string, Buffer>()

  constructor(private readonly opts: ScanOptions) {}

  layout(): ScannedLayout {
    return { ociLayout: this.#ociLayout, indexJson: this.#indexJson, blobs: this.#blobs, manifests: this.#manifests }
  }

  async entry(entry: TarEntry): Promise<void> {
    const { header } = entry
    const { limits } = this.opts
    if (++this.#entries > limits.maxEntries) throw new RejectedUpload(ociLimitReasons.entries(limits))
    const raw = header.name
    const path = raw.replace(/^(\.\/)+/, '')
    if (unsafe(raw, path)) throw new RejectedUpload(`the image tarball holds an unsafe path: ${JSON.stringify(raw)}`)
    switch (header.type) {
      case 'file':
      case 'contiguous-file':
        break
      case 'directory':
        return drain(entry)
      case 'symlink':
        throw new RejectedUpload(`the image tarball holds a symbolic link: ${raw} -> ${header.linkname ?? ''}`)
      case 'link':
        throw new RejectedUpload(`the image tarball holds a hard link: ${raw} -> ${header.linkname ?? ''}`)
      default:
        throw new RejectedUpload(`the image tarball holds an entry of unsupported type ${header.type}: ${raw}`)
    }
    const size = header.size ?? 0
    if (path === 'oci-layout' || path === 'index.json') return this.layoutFile(entry, path, size)
    const digest = blobPathDigest(path)
    // Other files (docker save's manifest.json, repositories) are not part of the image layout.
    if (digest === null) return drain(entry)
    if (size > limits.maxBlobBytes) throw new RejectedUpload(ociLimitReasons.blob(path, limits))
    const known = this.#blobs.get(digest)
    if (size <= limits.maxManifestBytes) await this.smallBlob(entry, path, digest, size, known === undefined)
    else await this.largeBlob(entry, path, digest, size, known === undefined)
    this.#blobs.set(digest, { digest, size, path })
  }

  private async layoutFile(entry: TarEntry, path: 'oci-layout' | 'index.json', size: number): Promise<void> {
    if (size > this.opts.limits.maxManifestBytes) {
      throw new RejectedUpload(ociLimitReasons.manifest(path, this.opts.limits))
    }
    const bytes = await readAll(entry)
    const earlier = path === 'oci-layout' ? this.#ociLayout : this.#indexJson
    if (earlier && !earlier.equals(bytes)) {
      throw new RejectedUpload(`the image tarball holds conflicting duplicate entries for ${path}`)
    }
    if (path === 'oci-layout') this.#ociLayout = bytes
    else this.#indexJson = bytes
  }

  /** smallBlob reads a blob of at most maxManifestBytes into memory, verifies and stores it, and keeps it if it may be a manifest. */
  private async smallBlob(entry: TarEntry, path: string, digest: string, size: number, first: boolean) {
    const bytes = await readAll(entry)
    checkDigest(path, digest, hashOf(digest, bytes))
    if (!first) return
    const key = ociBlobKey(this.opts.accountId, digest)
    if (await this.stored(key, size)) this.counts.reused++
    else {
      await this.opts.blobs.write(key, bytes, { size, signal: this.opts.signal })
      this.counts.stored++
    }
    if (!looksLikeManifest(bytes)) return
    this.#kept += bytes.length
    if (this.#kept > this.opts.limits.maxManifestsBytes) {
      throw new RejectedUpload(ociLimitReasons.manifests(this.opts.limits))
    }
    this.#manifests.set(digest, bytes)
  }

  /** largeBlob streams a blob into the store (or only hashes it when the store holds it already). */
  private async largeBlob(entry: TarEntry, path: string, digest: string, size: number, first: boolean) {
    const key = ociBlobKey(this.opts.accountId, digest)
    if (!first || (await this.stored(key, size))) {
      const hash = hasher(digest)
      for await (const chunk of entry) hash.update(chunk)
      checkDigest(path, digest, hash.digest('hex'))
      if (first) this.counts.reused++
      return
    }
    let mismatch: RejectedUpload | null = null
    async function* verified(): AsyncGenerator<Buffer> {
      const hash = hasher(digest)
      for await (const chunk of entry) {
        hash.update(chunk)
        yield chunk
      }
      try {
        checkDigest(path, digest, hash.digest('hex'))
      } catch (err) {
        mismatch = err as RejectedUpload
        // Ending in an error (not `end`) is what keeps the store from keeping the object.
        throw err
      }
    }
    try {
      await this.opts.blobs.write(key, Readable.from(verified()), { size, signal: this.opts.signal })
    } catch (err) {
      throw mismatch ?? err
    }
    this.counts.stored++
  }

  /** stored tells whether the store holds the object already (a content-addressed key with the right size). */
  private async stored(key: string, size: number): Promise<boolean> {
    try {
      return (await this.opts.blobs.stat(key)).size === size
    } catch (err) {
      if (err instanceof BlobNotFoundError) return false
      throw err
    }
  }
}

function hasher(digest: string) {
  return createHash(digest.slice(0, digest.indexOf(':')))
}

function hashOf(digest: string, bytes: Buffer): string {
  return hasher(digest).update(bytes).digest('hex')
}

function checkDigest(path: string, digest: string, actualHex: string): void {
  const expected = digest.slice(digest.indexOf(':') + 1)
  if (actualHex !== expected) {
    const algorithm = digest.slice(0, digest.indexOf(':'))
    throw new RejectedUpload(`digest mismatch: ${path} holds content whose ${algorithm} is ${actualHex}`)
  }
}

async function readAll(entry: TarEntry): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const chunk of entry) parts.push(chunk)
  return Buffer.concat(parts)
}

async function drain(entry: TarEntry): Promise<void> {
  for await (const _ of entry) {
    // Passing over the entry's bytes.
  }
}
