/**
 * Size and safety limits of upload processing. Every limit is enforced while streaming, so a hostile upload
 * (zip bomb, endless tar, truncated object) fails its artifact with a one-line reason instead of exhausting
 * memory or disk. Nothing is ever extracted to disk: only manifests are held in memory, each at most
 * {@link UploadLimits.maxManifestBytes}.
 */
export interface UploadLimits {
  /** Largest artifact the worker hashes (the API caps `filesize` at 5 GiB). */
  maxArtifactBytes: number
  /** Largest manifest held in memory: package.json, the YAML gemspec, a wheel's METADATA (after decompression). */
  maxManifestBytes: number
  /** Largest tar entry read or passed over while looking for a manifest (bounds the work a gzip bomb causes). */
  maxTarEntryBytes: number
  /** Most tar or zip entries scanned while looking for a manifest. */
  maxEntries: number
}

export const DEFAULT_LIMITS: Readonly<UploadLimits> = Object.freeze({
  maxArtifactBytes: 5 * 1024 ** 3,
  maxManifestBytes: 1024 ** 2,
  maxTarEntryBytes: 512 * 1024 ** 2,
  maxEntries: 100_000,
})

/** formatBytes prints a limit the way the reasons quote it: `1 MiB`, `5 GiB`, `512 KiB`, `100 bytes`. */
export function formatBytes(n: number): string {
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (n >= size && n % size === 0) return `${n / size} ${unit}`
  }
  return `${n} bytes`
}

/** The one-line reasons, one per limit, as stored in `artifacts.status_reason`. */
export const limitReasons = {
  artifact: (limits: UploadLimits) => `the upload is larger than the ${formatBytes(limits.maxArtifactBytes)} limit`,
  manifest: (what: string, limits: UploadLimits) =>
    `${what} is larger than the ${formatBytes(limits.maxManifestBytes)} limit`,
  tarEntry: (name: string, limits: UploadLimits) =>
    `tar entry ${name} is larger than the ${formatBytes(limits.maxTarEntryBytes)} limit`,
  entries: (what: string, limits: UploadLimits) => `no ${what} among the first ${limits.maxEntries} entries`,
}

export function resolveLimits(overrides?: Partial<UploadLimits>): UploadLimits {
  return { ...DEFAULT_LIMITS, ...overrides }
}
