import { parseDigest } from '../../formats/oci/digest.ts'
import {
  type Descriptor,
  ManifestError,
  type ParsedManifest,
  parseLayoutIndex,
  parseManifest,
} from '../../formats/oci/manifest.ts'
import { isNonDistributable, isServableManifest } from '../../formats/oci/media-types.ts'
import { RejectedUpload } from '../process-upload/errors.ts'
import { decodeUtf8 } from '../process-upload/manifest.ts'
import { type OciIngestLimits, ociLimitReasons } from './limits.ts'

/**
 * The pure half of image ingestion: given what one pass over an image layout tarball found (verified blobs by
 * digest, the small JSON blobs that may be manifests, `oci-layout` and `index.json`), walk `index.json`
 * depth-first through nested indexes and image manifests and decide what the release serves. Every problem is a
 * {@link RejectedUpload} with a one-line reason; nothing here does I/O.
 * see: https://github.com/opencontainers/image-spec/blob/main/image-layout.md · ../shared/spec/engines.md §2.5
 */

/** A blob entry of the tarball (`blobs/<algorithm>/<hex>`) whose content matched its name. */
export interface LayoutBlob {
  digest: string
  size: number
  /** Path in the tarball, e.g. `blobs/sha256/<hex>`. */
  path: string
}

/** What the streaming pass hands over. */
export interface ScannedLayout {
  ociLayout: Buffer | null
  indexJson: Buffer | null
  blobs: ReadonlyMap<string, LayoutBlob>
  /** Blobs that looked like manifests (small JSON with `manifests` or `layers`), by digest. */
  manifests: ReadonlyMap<string, Buffer>
}

export interface PlannedManifest {
  mediaType: string
  digest: string
  size: number
  path: string
  /** The exact bytes, as UTF-8 text (manifests are JSON). */
  content: string
}

export interface PlannedBlob {
  mediaType: string
  digest: string
  size: number
  path: string
}

/** What one image tarball adds to its release. */
export interface ImagePlan {
  /** `index.json`, verbatim: which manifests the release's tag and version name, in order. */
  layoutIndex: string
  /** Indexes and image manifests, depth-first from `index.json` (parents before children). */
  manifests: PlannedManifest[]
  /** Every stored blob the image references (manifests, configs, layers), each once. */
  blobs: PlannedBlob[]
  /** Digests of the manifests `index.json` points at that the tarball holds, in its order. */
  roots: string[]
}

/** How deep indexes may nest (an index of indexes of manifests is depth 2). */
const MAX_DEPTH = 8

function reject(reason: string): never {
  throw new RejectedUpload(reason)
}

/** planImage walks the layout; it throws {@link RejectedUpload} for anything no client could pull. */
export function planImage(layout: ScannedLayout, limits: OciIngestLimits): ImagePlan {
  if (!layout.ociLayout) reject('oci-layout is missing: not an OCI image layout tarball')
  checkLayoutHeader(layout.ociLayout)
  if (!layout.indexJson) reject('index.json is missing: not an OCI image layout tarball')
  const indexText = decodeUtf8(layout.indexJson, 'index.json')
  const index = parse(() => parseLayoutIndex(indexText))
  if (index.manifests.length === 0) reject('index.json lists no manifests')
  const walk = new Walk(layout, limits)
  for (const [i, d] of index.manifests.entries()) walk.visit(d, `index.json manifests[${i}]`, 'optional', 1)
  const roots = index.manifests.map((d) => d.digest).filter((d) => walk.manifestDigests.has(d))
  if (roots.length === 0) reject('index.json references no image manifest or index that is in the tarball')
  return { layoutIndex: indexText, manifests: walk.manifests, blobs: walk.blobs, roots: [...new Set(roots)] }
}

function checkLayoutHeader(bytes: Buffer): void {
  let version: unknown
  try {
    version = (JSON.parse(bytes.toString('utf8')) as { imageLayoutVersion?: unknown }).imageLayoutVersion
  } catch {
    reject('oci-layout is not valid JSON')
  }
  if (typeof version !== 'string' || !/^1\.\d+\.\d+$/.test(version)) {
    reject(`oci-layout has an unsupported imageLayoutVersion: ${JSON.stringify(version)}`)
  }
}

function parse<T>(fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    if (err instanceof ManifestError) reject(err.message)
    throw err
  }
}

/** Whether a descriptor's blob may be absent: children of an index (other platforms) may, layers may not. */
type Presence = 'optional' | 'required'

class Walk {
  readonly manifests: PlannedManifest[] = []
  readonly blobs: PlannedBlob[] = []
  readonly manifestDigests = new Set<string>()
  readonly #seen = new Map<string, string>()

  constructor(
    private readonly layout: ScannedLayout,
    private readonly limits: OciIngestLimits,
  ) {}

  visit(d: Descriptor, what: string, presence: Presence, depth: number): void {
    const known = this.#seen.get(d.digest)
    if (known !== undefined) {
      if (known !== d.mediaType && isServableManifest(d.mediaType) !== isServableManifest(known)) {
        reject(`${what} names ${d.digest} as ${d.mediaType}, elsewhere it is ${known}`)
      }
      return
    }
    const blob = this.layout.blobs.get(d.digest)
    if (!blob) {
      // Other platforms of a multi-platform index are routinely left out; a layer of a present manifest is not.
      if (presence === 'optional' || isNonDistributable(d.mediaType) || d.hasUrls) return
      reject(`${what} (${d.digest}) is missing from the tarball`)
    }
    if (blob.size !== d.size) {
      reject(`size mismatch: ${what} declares ${d.size} bytes for ${d.digest}, the tarball holds ${blob.size}`)
    }
    this.#seen.set(d.digest, d.mediaType)
    this.blobs.push({ mediaType: d.mediaType, digest: d.digest, size: blob.size, path: blob.path })
    if (!isServableManifest(d.mediaType)) return
    if (depth > MAX_DEPTH) reject(`indexes are nested deeper than ${MAX_DEPTH} levels`)
    const parsed = this.manifest(d, blob, what)
    if (parsed.kind === 'index') {
      for (const [i, c] of parsed.manifests.entries())
        this.visit(c, `${d.digest} manifests[${i}]`, 'optional', depth + 1)
    } else {
      this.visit(parsed.config, `${d.digest} config`, 'required', depth + 1)
      for (const [i, l] of parsed.layers.entries()) this.visit(l, `${d.digest} layers[${i}]`, 'required', depth + 1)
    }
  }

  private manifest(d: Descriptor, blob: LayoutBlob, what: string): ParsedManifest {
    const bytes = this.layout.manifests.get(d.digest)
    if (!bytes) {
      if (blob.size > this.limits.maxManifestBytes)
        reject(ociLimitReasons.manifest(`${what} (${d.digest})`, this.limits))
      reject(`${what} (${d.digest}) is not a valid ${d.mediaType}`)
    }
    const content = decodeUtf8(bytes, `${what} (${d.digest})`)
    const parsed = parse(() => parseManifest(content, d.mediaType, `${what} (${d.digest})`))
    this.manifestDigests.add(d.digest)
    this.manifests.push({ mediaType: d.mediaType, digest: d.digest, size: blob.size, path: blob.path, content })
    return parsed
  }
}

/**
 * blobPath reads a layout blob path, `blobs/<algorithm>/<hex>`, into its digest; null for any other path.
 * see: https://github.com/opencontainers/image-spec/blob/main/image-layout.md#blobs
 */
export function blobPathDigest(path: string): string | null {
  const m = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/.exec(path)
  if (!m) return null
  const digest = `${m[1]}:${m[2]}`
  return parseDigest(digest) ? digest : null
}
