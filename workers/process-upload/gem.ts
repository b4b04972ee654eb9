import { promisify } from 'node:util'
import { gunzip } from 'node:zlib'
import { GemspecError, gemInfoOf, readGemspec } from '../../formats/rubygems/gemspec.ts'
import { gemMatchesRelease } from '../../formats/rubygems/version.ts'
import { RejectedUpload } from './errors.ts'
import { type UploadLimits, limitReasons } from './limits.ts'
import { decodeUtf8, firstLine, MANIFEST_TYPES, type ManifestDraft } from './manifest.ts'
import { TarProbe } from './tar.ts'

/**
 * RubyGems. A `.gem` is a plain tar holding `metadata.gz` (the gzipped YAML gemspec), `data.tar.gz` and
 * `checksums.yaml.gz`. The gemspec is read by formats/rubygems/gemspec.ts.
 */

export const GEM_METADATA_ENTRY = 'metadata.gz'

export function gemProbe(limits: UploadLimits): TarProbe {
  return new TarProbe({ gzip: false, target: GEM_METADATA_ENTRY, archive: 'gem', limits })
}

const gunzipAsync = promisify(gunzip)

/**
 * gemManifests turns the gem's `metadata.gz` into its two manifests (the YAML gemspec verbatim and the compact-index
 * facts as JSON), after checking that the gemspec names the package and the release version.
 */
export async function gemManifests(
  metadataGz: Buffer,
  expect: { packageKey: string; releaseVersion: string },
  limits: UploadLimits,
): Promise<ManifestDraft[]> {
  let raw: Buffer
  try {
    raw = await gunzipAsync(metadataGz, { maxOutputLength: limits.maxManifestBytes })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new RejectedUpload(limitReasons.manifest('the gemspec (metadata.gz)', limits))
    }
    throw new RejectedUpload(`metadata.gz of the gem is not valid gzip: ${firstLine((err as Error).message)}`)
  }
  const yaml = decodeUtf8(raw, 'the gemspec (metadata.gz)')
  let spec: ReturnType<typeof readGemspec>
  try {
    spec = readGemspec(yaml)
  } catch (err) {
    if (err instanceof GemspecError) throw new RejectedUpload(err.message)
    throw err
  }
  if (spec.name !== expect.packageKey) {
    throw new RejectedUpload(
      `gem name mismatch: the gemspec names ${spec.name}, the package key is ${expect.packageKey}`,
    )
  }
  if (!gemMatchesRelease(spec.version, expect.releaseVersion)) {
    throw new RejectedUpload(
      `gem version mismatch: the gemspec version is ${spec.version}, the release version is ${expect.releaseVersion}`,
    )
  }
  return [
    { contentType: MANIFEST_TYPES.gemspec, contentPath: GEM_METADATA_ENTRY, content: yaml },
    { contentType: MANIFEST_TYPES.gemInfo, contentPath: GEM_METADATA_ENTRY, content: JSON.stringify(gemInfoOf(spec)) },
  ]
}
