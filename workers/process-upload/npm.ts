import semver from 'semver'
import { RejectedUpload } from './errors.ts'
import type { UploadLimits } from './limits.ts'
import { decodeUtf8, firstLine, MANIFEST_TYPES, type ManifestDraft } from './manifest.ts'
import { TarProbe } from './tar.ts'

/** npm. A package tarball is a gzipped tar whose `package/package.json` is the manifest. */

export const NPM_MANIFEST_ENTRY = 'package/package.json'

export function npmProbe(limits: UploadLimits): TarProbe {
  return new TarProbe({ gzip: true, target: NPM_MANIFEST_ENTRY, archive: 'npm tarball', limits })
}

/** versionsEqual compares as semver when both parse (ignoring build metadata, like npm), else as strings. */
export function versionsEqual(a: string, b: string): boolean {
  const x = semver.valid(a, { loose: true })
  const y = semver.valid(b, { loose: true })
  return x !== null && y !== null ? semver.eq(x, y) : a.trim() === b.trim()
}

/**
 * npmManifest checks `package/package.json` (valid JSON object, `name` equals the package key, `version` equals the
 * release version) and returns it verbatim as the manifest.
 */
export function npmManifest(raw: Buffer, expect: { packageKey: string; releaseVersion: string }): ManifestDraft {
  const text = decodeUtf8(raw, NPM_MANIFEST_ENTRY)
  let json: unknown
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''))
  } catch (err) {
    throw new RejectedUpload(`${NPM_MANIFEST_ENTRY} is not valid JSON: ${firstLine((err as Error).message)}`)
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new RejectedUpload(`${NPM_MANIFEST_ENTRY} is not a JSON object`)
  }
  const { name, version } = json as { name?: unknown; version?: unknown }
  if (typeof name !== 'string' || name === '') throw new RejectedUpload(`${NPM_MANIFEST_ENTRY} has no name`)
  if (name !== expect.packageKey) {
    throw new RejectedUpload(
      `package name mismatch: package.json names ${name}, the package key is ${expect.packageKey}`,
    )
  }
  if (typeof version !== 'string' || version === '') throw new RejectedUpload(`${NPM_MANIFEST_ENTRY} has no version`)
  if (!versionsEqual(version, expect.releaseVersion)) {
    throw new RejectedUpload(
      `version mismatch: package.json version is ${version}, the release version is ${expect.releaseVersion}`,
    )
  }
  return { contentType: MANIFEST_TYPES.npmPackage, contentPath: NPM_MANIFEST_ENTRY, content: text }
}
