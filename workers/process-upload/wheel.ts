import { headerValue } from '../../formats/python/core-metadata.ts'
import { normalizeProjectName } from '../../formats/python/normalize.ts'
import { Readable } from 'node:stream'
import yauzl from 'yauzl'
import type { BlobStore } from '../../gateway/storage/blob-store.ts'
import { RejectedUpload } from './errors.ts'
import { limitReasons, type UploadLimits } from './limits.ts'
import { decodeUtf8, firstLine, MANIFEST_TYPES, type ManifestDraft } from './manifest.ts'

/**
 * Wheels. The `*.dist-info/METADATA` file is found through the zip central directory (at the end of the file)
 * and inflated alone; nothing else is read. Reads are ranged reads on the blob store, in 256 KiB blocks kept in a
 * small cache, so a typical wheel costs one or two requests whatever its size.
 */

const BLOCK = 256 * 1024
const CACHED_BLOCKS = 16

/** StorageReadFailed wraps a blob store error met while reading the zip (retryable, unlike a bad archive). */
export class StorageReadFailed extends Error {
  constructor(cause: unknown) {
    super(`storage read failed: ${(cause as Error)?.message ?? String(cause)}`, { cause })
    this.name = 'StorageReadFailed'
  }
}

class BlobRangeReader extends yauzl.RandomAccessReader {
  private readonly blocks = new Map<number, Promise<Buffer>>()
  storageError: unknown

  constructor(
    private readonly blobs: BlobStore,
    private readonly key: string,
    private readonly size: number,
    private readonly signal?: AbortSignal,
  ) {
    super()
  }

  private block(index: number): Promise<Buffer> {
    const hit = this.blocks.get(index)
    if (hit) {
      this.blocks.delete(index)
      this.blocks.set(index, hit)
      return hit
    }
    const offset = index * BLOCK
    const length = Math.min(BLOCK, this.size - offset)
    const p = this.blobs.read(this.key, { offset, length, signal: this.signal }).then(async (stream) => {
      const parts: Buffer[] = []
      for await (const chunk of stream) parts.push(chunk as Buffer)
      const buf = Buffer.concat(parts)
      if (buf.length !== length) throw new Error(`short read at ${offset}: ${buf.length} of ${length} bytes`)
      return buf
    })
    p.catch((err) => {
      this.storageError ??= err
      this.blocks.delete(index)
    })
    this.blocks.set(index, p)
    while (this.blocks.size > CACHED_BLOCKS) this.blocks.delete(this.blocks.keys().next().value as number)
    return p
  }

  override _readStreamForRange(start: number, end: number): Readable {
    const self = this
    return Readable.from(
      (async function* () {
        let pos = start
        while (pos < end) {
          const index = Math.floor(pos / BLOCK)
          const buf = await self.block(index)
          const from = pos - index * BLOCK
          const to = Math.min(buf.length, end - index * BLOCK)
          yield buf.subarray(from, to)
          pos = index * BLOCK + to
        }
      })(),
    )
  }
}

const METADATA = /^[^/]+\.dist-info\/METADATA$/

/**
 * readWheelMetadata finds and inflates `<name>-<version>.dist-info/METADATA` (preferring the directory the wheel
 * filename names when there are several), enforcing the manifest and entry limits; a zip bomb stops at the limit.
 */
export async function readWheelMetadata(
  blobs: BlobStore,
  key: string,
  size: number,
  filename: string,
  limits: UploadLimits,
  signal?: AbortSignal,
): Promise<{ path: string; content: Buffer }> {
  const reader = new BlobRangeReader(blobs, key, size, signal)
  const base = filename.split('/').pop() ?? filename
  const parts = base.replace(/\.whl$/i, '').split('-')
  const expected = parts.length >= 2 ? `${parts[0]}-${parts[1]}.dist-info/METADATA`.toLowerCase() : undefined
  const fail = (err: unknown, what: string): never => {
    if (err instanceof RejectedUpload) throw err
    if (reader.storageError) throw new StorageReadFailed(reader.storageError)
    throw new RejectedUpload(`${what}: ${firstLine((err as Error).message)}`)
  }
  let zip: yauzl.ZipFile
  try {
    zip = await yauzl.fromRandomAccessReaderPromise(reader, size, {
      lazyEntries: true,
      autoClose: false,
      decodeStrings: true,
      validateEntrySizes: true,
      strictFileNames: false,
    })
  } catch (err) {
    return fail(err, 'the wheel is not a valid zip archive')
  }
  try {
    let chosen: yauzl.Entry | undefined
    const found: yauzl.Entry[] = []
    let count = 0
    try {
      for await (const entry of zip.eachEntry()) {
        count += 1
        if (count > limits.maxEntries) throw new RejectedUpload(limitReasons.entries('*.dist-info/METADATA', limits))
        if (!METADATA.test(entry.fileName)) continue
        if (expected && entry.fileName.toLowerCase() === expected) {
          chosen = entry
          break
        }
        found.push(entry)
      }
    } catch (err) {
      fail(err, 'the wheel is not a valid zip archive')
    }
    if (!chosen) {
      if (found.length === 0) throw new RejectedUpload('the wheel has no *.dist-info/METADATA')
      if (found.length > 1) throw new RejectedUpload('the wheel has several *.dist-info directories')
      chosen = found[0]
    }
    const path = chosen.fileName
    if (chosen.isEncrypted()) throw new RejectedUpload(`${path} is encrypted`)
    if (!chosen.canDecodeFileData()) throw new RejectedUpload(`${path} uses an unsupported compression method`)
    if (chosen.uncompressedSize > limits.maxManifestBytes) throw new RejectedUpload(limitReasons.manifest(path, limits))
    const content = await new Promise<Buffer>((resolve, reject) => {
      zip.openReadStream(chosen, (err, stream) => {
        if (err) return reject(err)
        const chunks: Buffer[] = []
        let got = 0
        stream.on('data', (chunk: Buffer) => {
          got += chunk.length
          if (got > limits.maxManifestBytes) {
            stream.destroy()
            reject(new RejectedUpload(limitReasons.manifest(path, limits)))
            return
          }
          chunks.push(chunk)
        })
        stream.on('error', reject)
        stream.on('end', () => resolve(Buffer.concat(chunks)))
      })
    }).catch((err) => fail(err, `${path} is corrupt`))
    return { path, content }
  } finally {
    zip.close()
  }
}

/**
 * wheelManifest stores METADATA verbatim as the PEP 658 core metadata of the wheel; for a `pypi` package its `Name`
 * must match the package key (both PEP 503-normalised).
 */
export function wheelManifest(
  meta: { path: string; content: Buffer },
  artifact: { filename: string; packageKey: string | null; engine: string | null },
): ManifestDraft {
  const text = decodeUtf8(meta.content, meta.path)
  const name = headerValue(text, 'Name')
  if (!name) throw new RejectedUpload(`${meta.path} has no Name`)
  if (artifact.engine === 'pypi' && artifact.packageKey !== null) {
    if (normalizeProjectName(name) !== normalizeProjectName(artifact.packageKey)) {
      throw new RejectedUpload(
        `package name mismatch: METADATA names ${name}, the package key is ${artifact.packageKey}`,
      )
    }
  }
  return { contentType: MANIFEST_TYPES.coreMetadata, contentPath: `${artifact.filename}.metadata`, content: text }
}
