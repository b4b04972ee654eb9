import { createHash, type Hash } from 'node:crypto'
import type { Readable } from 'node:stream'
import type { DigestAlgorithm } from './checksum.ts'
import { RejectedUpload } from './errors.ts'
import { limitReasons, type UploadLimits } from './limits.ts'
import type { TarProbe } from './tar.ts'

export interface ScanResult {
  size: number
  /** Always sha1, sha256 and sha512, plus whatever the declared checksum needs. */
  digests: Partial<Record<DigestAlgorithm, Buffer>>
}

/** StorageStreamFailed is a blob store error met while streaming the object (retryable). */
export class StorageStreamFailed extends Error {
  constructor(cause: unknown) {
    super(`storage read failed: ${(cause as Error)?.message ?? String(cause)}`, { cause })
    this.name = 'StorageStreamFailed'
  }
}

/**
 * scanObject streams the object once: it counts and hashes every byte (enforcing the artifact size limit) and
 * feeds the bytes to an optional probe (tar/tgz manifest extraction) until the probe has what it needs.
 */
export async function scanObject(
  source: Readable,
  opts: { algorithms: readonly DigestAlgorithm[]; limits: UploadLimits; probe?: TarProbe; signal?: AbortSignal },
): Promise<ScanResult> {
  const algorithms = new Set<DigestAlgorithm>(['sha1', 'sha256', 'sha512', ...opts.algorithms])
  const hashes = new Map<DigestAlgorithm, Hash>([...algorithms].map((a) => [a, createHash(a)]))
  let size = 0
  const { probe, limits } = opts
  try {
    for await (const chunk of source) {
      const buf = chunk as Buffer
      size += buf.length
      if (size > limits.maxArtifactBytes) throw new RejectedUpload(limitReasons.artifact(limits))
      for (const h of hashes.values()) h.update(buf)
      if (probe && !probe.done) await probe.write(buf)
    }
  } catch (err) {
    source.destroy()
    probe?.abort(err instanceof RejectedUpload ? err.reason : 'storage read failed')
    if (err instanceof RejectedUpload) throw err
    if (opts.signal?.aborted) throw opts.signal.reason ?? err
    throw new StorageStreamFailed(err)
  }
  probe?.end()
  const digests: ScanResult['digests'] = {}
  for (const [a, h] of hashes) digests[a] = h.digest()
  return { size, digests }
}
