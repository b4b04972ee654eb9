import { execFile } from 'node:child_process'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { PackageRow, ProductRow, ReleaseRow } from '../../gateway/catalog/types.ts'
import { artifactKey } from '../../gateway/storage/keys.ts'
import { processArtifact } from '../../workers/process-upload/index.ts'
import type { TestGateway } from './app.ts'
import { seedArtifact, seedRelease } from './seed.ts'

const quiet = { debug() {}, info() {}, warn() {}, error() {} }

export interface PublishInput {
  product: ProductRow
  package: PackageRow
  version: string
  filename: string
  bytes: Buffer
  tag?: string
}

/**
 * publishFile publishes a release with one file the way a vendor's upload ends: the bytes in storage, then the
 * real upload worker verifies them and stores their manifests (package.json, gemspec). It fails unless the
 * artifact ends UPLOADED.
 */
export async function publishFile(gw: TestGateway, input: PublishInput): Promise<ReleaseRow> {
  const db = gw.catalog.db
  const release = await seedRelease(db, gw.account, {
    product: input.product,
    package: input.package,
    version: input.version,
    status: 'PUBLISHED',
    tag: input.tag ?? null,
  })
  const artifact = await seedArtifact(db, gw.account, {
    release,
    filename: input.filename,
    status: 'WAITING',
    filesize: input.bytes.length,
  })
  await gw.blobs.write(artifactKey(gw.account.id, release.id, input.filename), input.bytes)
  const result = await processArtifact({ catalog: gw.catalog, blobs: gw.blobs, log: quiet }, artifact.id)
  if (result.status !== 'UPLOADED') throw new Error(`upload processing failed: ${JSON.stringify(result)}`)
  return release
}

/** One request a listening gateway answered. */
export interface LoggedRequest {
  method: string
  url: string
  status: number
  range?: string
  authorization: boolean
}

/** requestLog records every request of a listening gateway with its status (no credentials are kept). */
export function requestLog(gw: TestGateway): LoggedRequest[] {
  const log: LoggedRequest[] = []
  gw.app.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    res.on('finish', () =>
      log.push({
        method: req.method ?? '',
        url: req.url ?? '',
        status: res.statusCode,
        range: req.headers.range,
        authorization: req.headers.authorization !== undefined,
      }),
    )
  })
  return log
}

export interface Exit {
  code: number
  stdout: string
  stderr: string
}

/** runClient runs a package manager with exactly the given environment, never throwing on a non-zero exit. */
export function runClient(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: Record<string, string> },
): Promise<Exit> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env, timeout: 180_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0
      resolve({ code, stdout, stderr })
    })
  })
}
