import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { basename, extname } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { type ApiClient, putUpload, type Resource } from './client.ts'
import { ApiError, CliError, UsageError } from './errors.ts'
import type { FileReport, Reporter } from './progress.ts'

/**
 * Artifact uploads as the keygen CLI does them: SHA-512 of the file (unpadded standard base64), POST /artifacts
 * with filename, filetype, filesize and checksum, then a PUT of the bytes to the 307's Location, streamed from
 * disk with Content-Length and no Authorization. Processing (WAITING → PROCESSING → UPLOADED | FAILED) is polled.
 */

export interface LocalFile {
  path: string
  filename: string
  size: number
}

export interface ArtifactOptions {
  platform?: string
  arch?: string
  filetype?: string
  /** Sent instead of the file's SHA-512 (keygen's `--checksum`); only with a single file. */
  checksum?: string
}

export interface UploadedArtifact {
  file: LocalFile
  id: string
  /** True when an identical artifact was already in the (draft) release and nothing was sent. */
  reused: boolean
}

/** localFiles checks that every path is a readable regular file, with distinct file names. */
export async function localFiles(paths: string[]): Promise<LocalFile[]> {
  const files: LocalFile[] = []
  const seen = new Map<string, string>()
  for (const path of paths) {
    let info: Awaited<ReturnType<typeof stat>>
    try {
      info = await stat(path)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      throw new UsageError(`${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`)
    }
    if (!info.isFile()) throw new UsageError(`${path}: not a regular file`)
    const filename = basename(path)
    const other = seen.get(filename)
    if (other !== undefined) throw new UsageError(`${other} and ${path} have the same file name ${filename}`)
    seen.set(filename, path)
    files.push({ path, filename, size: info.size })
  }
  return files
}

/** oneChecksum refuses --checksum with several files: one checksum cannot describe them all. */
export function oneChecksum(files: LocalFile[], checksum: string | undefined): void {
  if (checksum !== undefined && files.length > 1) {
    throw new UsageError(`--checksum applies to a single file, not ${files.length}`)
  }
}

/** defaultFiletype is the file's last extension without the dot (`gz`, `tgz`); none for `lib.so.1`. */
export function defaultFiletype(filename: string): string | undefined {
  const ext = extname(filename).slice(1).toLowerCase()
  return ext === '' || /^\d+$/.test(ext) ? undefined : ext
}

/** sha512 reads the file once and returns its SHA-512 in unpadded standard base64 (keygen's default). */
export async function sha512(path: string): Promise<string> {
  const hash = createHash('sha512')
  try {
    await pipeline(createReadStream(path), hash)
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${(err as Error).message}`)
  }
  return hash.digest('base64').replace(/=+$/, '')
}

const FINAL = new Set(['UPLOADED', 'FAILED', 'YANKED'])

/** artifactStatus reads the status and, for a failed artifact, the reason the server gave. */
export function artifactStatus(a: Resource): { status: string; reason?: string } {
  const status = String(a.attributes.status ?? '')
  const reason = a.meta?.statusReason
  return { status, ...(typeof reason === 'string' ? { reason } : {}) }
}

/** existingArtifact looks a file name up in a release; undefined when it is not there. */
async function existingArtifact(client: ApiClient, releaseId: string, filename: string): Promise<Resource | undefined> {
  try {
    return await client.resource('GET', `/artifacts/${encodeURIComponent(filename)}`, {
      query: { release: releaseId },
      prefer: 'no-download',
    })
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined
    throw err
  }
}

/** sendBytes streams the file to the upload URL, reporting progress. */
async function sendBytes(url: string, file: LocalFile, report: FileReport): Promise<void> {
  let sent = 0
  let readError: Error | undefined
  const source = createReadStream(file.path)
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      sent += chunk.length
      report.progress(sent)
      done(null, chunk)
    },
  })
  source.on('error', (err) => {
    readError = err
    counter.destroy(err)
  })
  source.pipe(counter)
  try {
    await putUpload(url, counter, file.size, `upload of ${file.filename}`)
  } catch (err) {
    if (readError) throw new CliError(`cannot read ${file.path}: ${readError.message}`)
    throw err
  } finally {
    source.destroy()
  }
  if (sent !== file.size)
    throw new CliError(`${file.path} changed while it was uploaded (${sent} of ${file.size} bytes)`)
}

/**
 * uploadArtifact uploads one file into a release. With `replace`, an artifact of the same name already in the
 * release is reused when its checksum and size match (and it has not failed), and deleted otherwise.
 */
export async function uploadArtifact(
  client: ApiClient,
  releaseId: string,
  file: LocalFile,
  opts: ArtifactOptions & { replace?: boolean },
  reporter: Reporter,
): Promise<UploadedArtifact> {
  const checksum = opts.checksum ?? (await sha512(file.path))
  const report = reporter.file(file.filename, file.size)
  try {
    if (opts.replace) {
      const old = await existingArtifact(client, releaseId, file.filename)
      if (old) {
        const { status } = artifactStatus(old)
        const same =
          old.attributes.checksum === checksum && Number(old.attributes.filesize) === file.size && status !== 'FAILED'
        if (same && status !== 'WAITING') {
          report.reused()
          return { file, id: old.id, reused: true }
        }
        await client.call('DELETE', `/artifacts/${old.id}`)
      }
    }
    const filetype = opts.filetype ?? defaultFiletype(file.filename)
    const attributes: Record<string, unknown> = { filename: file.filename }
    if (filetype) attributes.filetype = filetype
    attributes.filesize = file.size
    if (opts.platform) attributes.platform = opts.platform
    if (opts.arch) attributes.arch = opts.arch
    attributes.checksum = checksum
    const created = await client.resource('POST', '/artifacts', {
      body: {
        data: {
          type: 'artifacts',
          attributes,
          relationships: { release: { data: { type: 'releases', id: releaseId } } },
        },
      },
    })
    const location = created.location ?? created.links?.redirect ?? undefined
    if (!location) throw new CliError(`the server gave no upload URL for ${file.filename}`)
    report.started()
    await sendBytes(new URL(location, client.connection.host).toString(), file, report)
    report.uploaded()
    return { file, id: created.id, reused: false }
  } catch (err) {
    report.failed()
    if (err instanceof ApiError && !err.context) throw err.withContext(file.filename)
    throw err
  }
}

/** mapLimit runs fn over items, at most `limit` at once, and settles every one (no early abort). */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      try {
        results[i] = { status: 'fulfilled', value: await fn(items[i]) }
      } catch (reason) {
        results[i] = { status: 'rejected', reason }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

/** MultiError carries the errors of several files; each prints its own line(s). */
export class MultiError extends CliError {
  constructor(readonly errors: unknown[]) {
    super(`${errors.length} uploads failed`)
  }

  override lines(): string[] {
    return this.errors.flatMap((e) => (e instanceof CliError ? e.lines() : [String((e as Error)?.message ?? e)]))
  }

  override get exitCode(): number {
    return this.errors.every((e) => e instanceof UsageError) ? 2 : 1
  }
}

/** uploadAll uploads the files in parallel (bounded); any failure is thrown after every upload settled. */
export async function uploadAll(
  client: ApiClient,
  releaseId: string,
  files: LocalFile[],
  opts: ArtifactOptions & { replace?: boolean; concurrency: number },
  reporter: Reporter,
): Promise<UploadedArtifact[]> {
  const settled = await mapLimit(files, opts.concurrency, (f) => uploadArtifact(client, releaseId, f, opts, reporter))
  const errors = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason] : []))
  if (errors.length === 1) throw errors[0]
  if (errors.length > 1) throw new MultiError(errors)
  return settled.map((s) => (s as PromiseFulfilledResult<UploadedArtifact>).value)
}

export interface Processed {
  artifact: UploadedArtifact
  status: string
  reason?: string
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * waitForProcessing polls GET /artifacts/:id until every artifact is UPLOADED or FAILED, or the timeout passes
 * (then the unfinished ones are returned with their last status).
 */
export async function waitForProcessing(
  client: ApiClient,
  artifacts: UploadedArtifact[],
  timeoutMs: number,
  reporter: Reporter,
): Promise<{ done: Processed[]; pending: Processed[] }> {
  const deadline = Date.now() + timeoutMs
  const done: Processed[] = []
  let pending: Processed[] = artifacts.map((artifact) => ({ artifact, status: 'WAITING' }))
  let delay = 250
  for (;;) {
    const still: Processed[] = []
    for (const p of pending) {
      const res = await client.resource('GET', `/artifacts/${p.artifact.id}`, { prefer: 'no-download' })
      const { status, reason } = artifactStatus(res)
      const next = { artifact: p.artifact, status, ...(reason ? { reason } : {}) }
      if (FINAL.has(status)) {
        done.push(next)
        reporter.processed(p.artifact.file.filename, status, reason)
      } else still.push(next)
    }
    pending = still
    if (pending.length === 0 || Date.now() >= deadline) return { done, pending }
    await sleep(Math.min(delay, Math.max(0, deadline - Date.now())))
    delay = Math.min(delay * 2, 2000)
  }
}
