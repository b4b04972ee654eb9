import { NPM_MANIFEST_ENTRY, readPackageJson, versionsEqual } from '../../formats/npm/package-json.ts'
import { RejectedUpload } from './errors.ts'
import type { UploadLimits } from './limits.ts'
import { decodeUtf8, MANIFEST_TYPES, type ManifestDraft } from './manifest.ts'
import { TarProbe } from './tar.ts'

/** npm. A package tarball is a gzipped tar whose `package/package.json` is the manifest. */

export function npmProbe(limits: UploadLimits): TarProbe {
  return new TarProbe({ gzip: true, target: NPM_MANIFEST_ENTRY, archive: 'npm tarball', limits })
}

/**
 * npmManifest checks `package/package.json` (valid JSON object, `name` equals the package key, `version` equals the
 * release version) and returns it verbatim as the manifest.
 */
export function npmManifest(raw: Buffer, expect: { packageKey: string; releaseVersion: string }): ManifestDraft {
  const text = decodeUtf8(raw, NPM_MANIFEST_ENTRY)
  const read = readPackageJson(text)
  if (!read.ok) throw new RejectedUpload(read.reason)
  const { name, version } = read.value
  if (name !== expect.packageKey) {
    throw new RejectedUpload(
      `package name mismatch: package.json names ${name}, the package key is ${expect.packageKey}`,
    )
  }
  if (!versionsEqual(version, expect.releaseVersion)) {
    throw new RejectedUpload(
      `version mismatch: package.json version is ${version}, the release version is ${expect.releaseVersion}`,
    )
  }
  return { contentType: MANIFEST_TYPES.npmPackage, contentPath: NPM_MANIFEST_ENTRY, content: text }
}
