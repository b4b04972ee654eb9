import { createGunzip, type Gunzip } from 'node:zlib'
import tarStream from 'tar-stream'
import { RejectedUpload } from './errors.ts'
import { formatBytes, limitReasons, type UploadLimits } from './limits.ts'

/** The part of a writable stream (Node's Gunzip or streamx's tar extractor) the probe feeds. */
interface Sink {
  write(chunk: Buffer): boolean
  end(): void
  once(event: 'drain', listener: () => void): unknown
}

interface EntryStream {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown
  on(event: 'end' | 'error', listener: () => void): unknown
  resume(): unknown
}

export interface TarProbeOptions {
  /** Gunzip before untarring (npm tarballs); gems are plain tar. */
  gzip: boolean
  /** Entry to read, e.g. `package/package.json` (a leading `./` in the archive is ignored). */
  target: string
  /** What the archive is, for reasons: `npm tarball`, `gem`. */
  archive: string
  limits: UploadLimits
}

/**
 * TarProbe is fed the bytes of an archive as they stream past (the same pass that hashes them) and extracts
 * one entry into memory. Every entry it scans on the way is checked: no absolute or `..` paths, no links or
 * devices, bounded sizes and count. Any problem rejects {@link result} with a {@link RejectedUpload}; reaching
 * the end without the entry rejects it too. After the entry, parsing goes on to the end of the archive (only its
 * structure, for at most `maxTarEntryBytes` more), so an upload cut short after its manifest is still found
 * truncated; past that budget later chunks are ignored.
 */
export class TarProbe {
  readonly result: Promise<Buffer>
  private settled = false
  private resolveResult!: (buf: Buffer) => void
  private rejectResult!: (err: RejectedUpload) => void
  private readonly extract: tarStream.Extract
  private readonly input: Sink
  private readonly gunzip?: Gunzip
  private entries = 0
  private scanned = 0
  /** The entry, once read; the result waits for the end of the archive. */
  private found?: Buffer
  /** Bytes of the entries (headers included) parsed after it. */
  private tail = 0
  private readonly stopped: Promise<void>
  private stop!: () => void

  constructor(private readonly opts: TarProbeOptions) {
    this.result = new Promise<Buffer>((resolve, reject) => {
      this.resolveResult = resolve
      this.rejectResult = reject
    })
    // The caller may never await result (e.g. it fails earlier on the checksum); never leave it unhandled.
    this.result.catch(() => {})
    this.stopped = new Promise<void>((resolve) => {
      this.stop = resolve
    })
    this.extract = tarStream.extract()
    this.extract.on('entry', (header, stream, next) => this.onEntry(header, stream as unknown as EntryStream, next))
    this.extract.on('error', (err: Error) => this.fail(this.tarReason(err)))
    this.extract.on('finish', () =>
      this.found ? this.succeed(this.found) : this.fail(`${opts.target} is missing from the ${opts.archive}`),
    )
    if (opts.gzip) {
      this.gunzip = createGunzip()
      this.gunzip.on('error', (err: NodeJS.ErrnoException) => this.fail(gzipReason(err, opts.archive)))
      this.gunzip.pipe(this.extract as unknown as NodeJS.WritableStream)
      this.input = this.gunzip
    } else {
      this.input = this.extract as unknown as Sink
    }
  }

  /** done tells whether the probe no longer needs bytes. */
  get done(): boolean {
    return this.settled
  }

  /** write feeds the next chunk, honouring backpressure; it returns at once after the probe settled. */
  async write(chunk: Buffer): Promise<void> {
    if (this.settled) return
    if (this.input.write(chunk)) return
    await Promise.race([new Promise<void>((resolve) => this.input.once('drain', () => resolve())), this.stopped])
  }

  /** end signals the end of the archive. */
  end(): void {
    if (!this.settled) this.input.end()
  }

  /** abort stops parsing (storage error, job aborted); result stays pending-rejected with the reason. */
  abort(reason = 'aborted'): void {
    this.fail(reason)
  }

  private tarReason(err: Error): string {
    if (/unexpected end of data/i.test(err.message)) return `the ${this.opts.archive} is truncated`
    return `the ${this.opts.archive} is not a valid tar archive: ${err.message}`
  }

  private onEntry(header: tarStream.Header, stream: EntryStream, next: () => void) {
    if (this.settled) {
      stream.resume()
      return
    }
    const { limits, target, archive } = this.opts
    if (this.found) {
      this.tail += 512 + (header.size ?? 0)
      if (this.tail > limits.maxTarEntryBytes) return this.succeed(this.found)
      return this.skip(stream, next)
    }
    const raw = header.name
    const name = raw.replace(/^(\.\/)+/, '')
    this.entries += 1
    if (this.entries > limits.maxEntries) return this.fail(limitReasons.entries(target, limits))
    if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw) || name.split(/[/\\]/).includes('..') || raw.includes('\0')) {
      return this.fail(`the ${archive} holds an unsafe path: ${JSON.stringify(raw)}`)
    }
    const size = header.size ?? 0
    switch (header.type) {
      case 'file':
      case 'contiguous-file':
      case 'directory':
        break
      case 'symlink':
        return this.fail(`the ${archive} holds a symbolic link: ${raw} -> ${header.linkname ?? ''}`)
      case 'link':
        return this.fail(`the ${archive} holds a hard link: ${raw} -> ${header.linkname ?? ''}`)
      default:
        return this.fail(`the ${archive} holds an entry of unsupported type ${header.type}: ${raw}`)
    }
    if (size > limits.maxTarEntryBytes) return this.fail(limitReasons.tarEntry(raw, limits))
    this.scanned += size
    if (this.scanned > limits.maxTarEntryBytes) {
      return this.fail(`${target} not found in the first ${formatBytes(limits.maxTarEntryBytes)} of the ${archive}`)
    }
    if (name !== target || header.type === 'directory') return this.skip(stream, next)
    if (size > limits.maxManifestBytes) return this.fail(limitReasons.manifest(target, limits))
    const parts: Buffer[] = []
    let got = 0
    stream.on('data', (chunk: Buffer) => {
      got += chunk.length
      if (got > limits.maxManifestBytes) return this.fail(limitReasons.manifest(target, limits))
      parts.push(chunk)
    })
    stream.on('end', () => {
      if (this.settled) return
      this.found = Buffer.concat(parts)
      next()
    })
    stream.on('error', () => {})
  }

  /**
   * skip passes over an entry. A truncated archive errors the entry's stream too (the extractor reports it):
   * unhandled, that error would crash the process.
   */
  private skip(stream: EntryStream, next: () => void) {
    stream.on('error', () => {})
    stream.on('end', next)
    stream.resume()
  }

  private succeed(buf: Buffer) {
    if (this.settled) return
    this.settled = true
    this.resolveResult(buf)
    this.teardown()
  }

  private fail(reason: string) {
    if (this.settled) return
    this.settled = true
    this.rejectResult(new RejectedUpload(reason))
    this.teardown()
  }

  private teardown() {
    this.stop()
    // Errors emitted while tearing down are of no interest any more.
    this.extract.on('error', () => {})
    this.gunzip?.on('error', () => {})
    this.gunzip?.unpipe()
    this.gunzip?.destroy()
    this.extract.destroy()
  }
}

function gzipReason(err: NodeJS.ErrnoException, archive: string): string {
  if (err.code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(err.message)) return `the ${archive} is truncated`
  if (/incorrect header check|unknown compression method/i.test(err.message))
    return `the ${archive} is not gzip-compressed`
  return `the ${archive} is not a valid gzip stream: ${err.message}`
}
