import { randomBytes, randomUUID } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { constants, copyFile, mkdir, open, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises'
import { hostname } from 'node:os'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { GatewayError } from '../errors.ts'
import {
  type BlobInfo,
  type SweepResult,
  BlobNotFoundError,
  type BlobStore,
  BlobStoreError,
  type ReadOptions,
  SizeMismatchError,
  type UrlOptions,
  validateKey,
  type WriteOptions,
} from './blob-store.ts'
import { signedBlobUrl } from './signed-url.ts'
import { type SigningKeys, toSigningKeys } from './signing-keys.ts'

const TMP_DIR = '.tmp'

/** A temporary file nothing has written to for this long belongs to an upload that died. */
export const STALE_TEMP_MS = 15 * 60_000

/** Tells this process apart from an earlier one with the same pid (a restarted container is often pid 1 again). */
const PROCESS_TOKEN = randomBytes(4).toString('hex')
const HOST = encodeURIComponent(hostname())

/** tempName names a temporary file after its writer, `<pid>.<token>@<host>@<uuid>`, so a sweep knows whose it is. */
const tempName = (): string => `${process.pid}.${PROCESS_TOKEN}@${HOST}@${randomUUID()}`

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * isOrphan: the temporary file was written by a process of this host that is gone (a dead pid, or an earlier
 * process that had this process's pid). Files of other hosts (a shared root) are left to the idle rule.
 */
function isOrphan(name: string): boolean {
  const m = /^(\d+)\.([0-9a-f]+)@([^@]+)@/.exec(name)
  if (!m || m[3] !== HOST) return false
  const pid = Number(m[1])
  if (pid === process.pid) return m[2] !== PROCESS_TOKEN
  return !processAlive(pid)
}

export interface FilesystemStoreOptions {
  root: string
  /** Secret of gateway-signed URLs: a configured one, or the keys kept in the catalog. */
  signingSecret: string | SigningKeys
  /** Default lifetime of download URLs, in seconds. */
  presignTtl: number
  /** Default lifetime of upload URLs, in seconds. */
  uploadTtl: number
}

/**
 * FilesystemStore keeps blobs as files under root. Writes go to root/.tmp and are renamed into place, so
 * readers never see a partial object. It cannot presign, so its URLs point at the gateway's signed blob route.
 */
export class FilesystemStore implements BlobStore {
  readonly name = 'filesystem'
  readonly root: string
  readonly #keys: SigningKeys

  constructor(private readonly opts: FilesystemStoreOptions) {
    this.root = resolve(opts.root)
    this.#keys = toSigningKeys(opts.signingSecret)
  }

  private path(key: string): string {
    validateKey(key, this.name)
    const full = resolve(this.root, key)
    if (!full.startsWith(this.root + sep)) throw new BlobNotFoundError(key, this.name)
    return full
  }

  private fail(err: unknown, key: string): never {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') throw new BlobNotFoundError(key, this.name)
    throw new BlobStoreError(this.name, `${code ?? 'error'} on ${key}`, err)
  }

  async stat(key: string): Promise<BlobInfo> {
    const path = this.path(key)
    try {
      const s = await stat(path)
      if (!s.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' })
      return {
        key,
        size: s.size,
        etag: `"${s.size.toString(16)}-${Math.floor(s.mtimeMs).toString(16)}"`,
        lastModified: s.mtime,
      }
    } catch (err) {
      this.fail(err, key)
    }
  }

  async read(key: string, opts: ReadOptions = {}): Promise<Readable> {
    const path = this.path(key)
    const handle = await open(path, 'r').catch((err) => this.fail(err, key))
    const s = await handle.stat()
    if (!s.isFile()) {
      await handle.close()
      throw new BlobNotFoundError(key, this.name)
    }
    const start = opts.offset ?? 0
    const end = opts.length === undefined ? undefined : start + opts.length - 1
    return createReadStream('', { fd: handle, start, end, signal: opts.signal, autoClose: true })
  }

  async write(key: string, body: Readable | Buffer, opts: WriteOptions = {}): Promise<BlobInfo> {
    const path = this.path(key)
    const tmp = join(this.root, TMP_DIR, tempName())
    let written = 0
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        written += chunk.length
        if (opts.size !== undefined && written > opts.size) cb(new SizeMismatchError(key, opts.size, written))
        else cb(null, chunk)
      },
    })
    try {
      await mkdir(dirname(tmp), { recursive: true })
      const source = Buffer.isBuffer(body) ? Readable.from([body]) : body
      await pipeline(source, counter, createWriteStream(tmp, { flags: 'wx' }), { signal: opts.signal })
      if (opts.size !== undefined && written !== opts.size) throw new SizeMismatchError(key, opts.size, written)
      await mkdir(dirname(path), { recursive: true })
      await rename(tmp, path)
    } catch (err) {
      await rm(tmp, { force: true })
      // Size mismatches and the body's own errors (too large, stalled, aborted) are the client's, not the store's.
      if (err instanceof GatewayError) throw err
      if ((err as Error).name === 'AbortError') throw err
      throw new BlobStoreError(
        this.name,
        `write ${key} failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        err,
      )
    }
    return this.stat(key)
  }

  async copy(from: string, to: string): Promise<BlobInfo> {
    const source = this.path(from)
    const target = this.path(to)
    const tmp = join(this.root, TMP_DIR, randomUUID())
    try {
      await mkdir(dirname(tmp), { recursive: true })
      // A reflink where the file system has them, else a kernel-side copy; renamed into place in one step.
      await copyFile(source, tmp, constants.COPYFILE_FICLONE)
      await mkdir(dirname(target), { recursive: true })
      await rename(tmp, target)
    } catch (err) {
      await rm(tmp, { force: true })
      this.fail(err, from)
    }
    return this.stat(to)
  }

  async move(from: string, to: string): Promise<BlobInfo> {
    const source = this.path(from)
    const target = this.path(to)
    try {
      if (!(await stat(source)).isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' })
      await mkdir(dirname(target), { recursive: true })
      await rename(source, target)
    } catch (err) {
      this.fail(err, from)
    }
    return this.stat(to)
  }

  async delete(key: string): Promise<void> {
    const path = this.path(key)
    try {
      await unlink(path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      this.fail(err, key)
    }
    // Prune now-empty parent directories so deleted releases leave no trace.
    let dir = dirname(path)
    while (dir.startsWith(this.root + sep)) {
      try {
        await rmdir(dir)
      } catch {
        break
      }
      dir = dirname(dir)
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    const walk = async function* (dir: string, root: string): AsyncIterable<string> {
      let entries: import('node:fs').Dirent[]
      try {
        entries = await readdir(dir, { withFileTypes: true })
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
        throw err
      }
      for (const entry of entries) {
        const full = join(dir, entry.name)
        const key = relative(root, full).split(sep).join('/')
        if (key === TMP_DIR) continue
        if (entry.isDirectory()) yield* walk(full, root)
        else if (entry.isFile()) yield key
      }
    }
    // Walk only below the prefix's directory, so listing one release does not scan the whole store.
    const dir = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : ''
    if (dir !== '') validateKey(dir, this.name)
    for await (const key of walk(dir === '' ? this.root : join(this.root, dir), this.root)) {
      if (key.startsWith(prefix)) yield key
    }
  }

  /**
   * sweepTemporary removes temporary files of uploads that will never finish: those of a process of this host
   * that is gone (a crash or kill -9 mid-upload), and any that nothing wrote to for {@link STALE_TEMP_MS}.
   */
  async sweepTemporary(now = Date.now()): Promise<SweepResult> {
    const dir = join(this.root, TMP_DIR)
    const result: SweepResult = { files: 0, bytes: 0 }
    let names: string[]
    try {
      names = await readdir(dir)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return result
      throw new BlobStoreError(this.name, `listing ${TMP_DIR} failed: ${(err as NodeJS.ErrnoException).code}`, err)
    }
    for (const name of names) {
      const path = join(dir, name)
      const info = await stat(path).catch(() => null)
      if (!info?.isFile()) continue
      if (!isOrphan(name) && now - info.mtimeMs < STALE_TEMP_MS) continue
      try {
        await unlink(path)
        result.files++
        result.bytes += info.size
      } catch {
        // Renamed into place or removed by another sweeper meanwhile.
      }
    }
    return result
  }

  async redirectUrl(key: string, _method: 'GET' | 'HEAD', opts: UrlOptions): Promise<string> {
    validateKey(key, this.name)
    return signedBlobUrl(
      this.#keys.current(),
      opts.baseUrl,
      'GET',
      key,
      opts.ttl ?? this.opts.presignTtl,
      opts.filename,
    )
  }

  async uploadUrl(key: string, opts: UrlOptions): Promise<string> {
    validateKey(key, this.name)
    return signedBlobUrl(this.#keys.current(), opts.baseUrl, 'PUT', key, opts.ttl ?? this.opts.uploadTtl)
  }

  async check(): Promise<void> {
    const probe = join(this.root, TMP_DIR, tempName())
    try {
      await mkdir(dirname(probe), { recursive: true })
      const handle = await open(probe, 'wx')
      await handle.write('ok')
      await handle.close()
      await unlink(probe)
    } catch (err) {
      throw new BlobStoreError(
        this.name,
        `storage root ${this.root} is not writable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
        err,
      )
    }
  }
}
