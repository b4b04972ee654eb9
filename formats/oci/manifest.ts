import { parseDigest } from './digest.ts'
import { INDEX_TYPES } from './media-types.ts'

/**
 * Parsing of OCI/Docker descriptors, image indexes and image manifests: strict enough to reject what no client
 * could pull, lenient where real tools differ (umoci omits `mediaType` in manifests, buildx adds annotations).
 * Pure: bytes in, typed values or a {@link ManifestError} out.
 * see: https://github.com/opencontainers/image-spec/blob/main/descriptor.md · manifest.md · image-index.md
 */

export interface Platform {
  architecture: string
  os: string
  variant?: string
}

/** A content descriptor: what a manifest knows about a blob it points at. */
export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  annotations: Readonly<Record<string, string>>
  platform: Platform | null
  artifactType: string | null
  /** The descriptor lists download URLs (foreign or non-distributable layers). */
  hasUrls: boolean
}

/** An image index (OCI index or Docker manifest list). */
export interface ImageIndex {
  kind: 'index'
  mediaType: string | null
  manifests: Descriptor[]
  subject: Descriptor | null
  artifactType: string | null
  annotations: Readonly<Record<string, string>>
}

/** An image manifest (OCI or Docker schema 2). */
export interface ImageManifest {
  kind: 'manifest'
  mediaType: string | null
  config: Descriptor
  layers: Descriptor[]
  subject: Descriptor | null
  artifactType: string | null
  annotations: Readonly<Record<string, string>>
}

export type ParsedManifest = ImageIndex | ImageManifest

/** ManifestError: the bytes are not the manifest they claim to be; `message` is a one-line reason. */
export class ManifestError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ManifestError'
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function stringMap(v: unknown, what: string): Record<string, string> {
  if (v === undefined || v === null) return {}
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw new ManifestError(`${what} must map strings to strings`)
  }
  return v as Record<string, string>
}

function optionalString(v: unknown, what: string): string | null {
  if (v === undefined || v === null) return null
  if (typeof v !== 'string') throw new ManifestError(`${what} must be a string`)
  return v
}

/** parseDescriptor validates one descriptor (`what` names it in reasons, e.g. `layers[2]`). */
export function parseDescriptor(value: unknown, what: string): Descriptor {
  if (!isObject(value)) throw new ManifestError(`${what} is not a descriptor`)
  const { mediaType, digest, size, platform, urls } = value
  if (typeof mediaType !== 'string' || mediaType === '') throw new ManifestError(`${what} has no mediaType`)
  if (typeof digest !== 'string' || !parseDigest(digest)) {
    throw new ManifestError(`${what} has an invalid digest: ${JSON.stringify(digest)}`)
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new ManifestError(`${what} has an invalid size: ${JSON.stringify(size)}`)
  }
  let parsedPlatform: Platform | null = null
  if (platform !== undefined && platform !== null) {
    if (!isObject(platform) || typeof platform.architecture !== 'string' || typeof platform.os !== 'string') {
      throw new ManifestError(`${what} has an invalid platform`)
    }
    parsedPlatform = { architecture: platform.architecture, os: platform.os }
    if (typeof platform.variant === 'string') parsedPlatform.variant = platform.variant
  }
  return {
    mediaType,
    digest,
    size,
    annotations: stringMap(value.annotations, `${what}.annotations`),
    platform: parsedPlatform,
    artifactType: optionalString(value.artifactType, `${what}.artifactType`),
    hasUrls: Array.isArray(urls) && urls.length > 0,
  }
}

function parseJsonObject(bytes: Buffer | string, what: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'))
  } catch {
    throw new ManifestError(`${what} is not valid JSON`)
  }
  if (!isObject(value)) throw new ManifestError(`${what} is not a JSON object`)
  return value
}

/**
 * parseManifest reads a manifest or index as `mediaType` (the type its parent descriptor gave it). The document's
 * own `mediaType`, when present, must agree; `schemaVersion` must be 2.
 */
export function parseManifest(bytes: Buffer | string, mediaType: string, what: string): ParsedManifest {
  const doc = parseJsonObject(bytes, what)
  if (doc.schemaVersion !== 2) throw new ManifestError(`${what} is not schemaVersion 2`)
  const own = optionalString(doc.mediaType, `${what}.mediaType`)
  if (own !== null && own !== mediaType) {
    throw new ManifestError(`${what} declares mediaType ${own} but is referenced as ${mediaType}`)
  }
  const subject = doc.subject === undefined ? null : parseDescriptor(doc.subject, `${what}.subject`)
  const artifactType = optionalString(doc.artifactType, `${what}.artifactType`)
  const annotations = stringMap(doc.annotations, `${what}.annotations`)
  if (INDEX_TYPES.has(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw new ManifestError(`${what} has no manifests list`)
    const manifests = doc.manifests.map((d, i) => parseDescriptor(d, `${what}.manifests[${i}]`))
    return { kind: 'index', mediaType: own, manifests, subject, artifactType, annotations }
  }
  if (!Array.isArray(doc.layers)) throw new ManifestError(`${what} has no layers list`)
  const config = parseDescriptor(doc.config, `${what}.config`)
  const layers = doc.layers.map((d, i) => parseDescriptor(d, `${what}.layers[${i}]`))
  return { kind: 'manifest', mediaType: own, config, layers, subject, artifactType, annotations }
}

/**
 * parseLayoutIndex reads an image layout's `index.json`: an OCI image index whose `mediaType` may be missing
 * (umoci, older tools). see: https://github.com/opencontainers/image-spec/blob/main/image-layout.md
 */
export function parseLayoutIndex(bytes: Buffer | string): ImageIndex {
  const doc = parseJsonObject(bytes, 'index.json')
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : 'application/vnd.oci.image.index.v1+json'
  if (!INDEX_TYPES.has(declared)) throw new ManifestError(`index.json has mediaType ${declared}, not an image index`)
  return parseManifest(bytes, declared, 'index.json') as ImageIndex
}

/**
 * looksLikeManifest is a cheap test on a small JSON blob met while streaming a layout: could it be an index or an
 * image manifest (and so be worth keeping until the walk knows)? Configs and in-toto statements are not.
 */
export function looksLikeManifest(bytes: Buffer): boolean {
  let i = 0
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++
  if (bytes[i] !== 0x7b) return false
  try {
    const doc = JSON.parse(bytes.toString('utf8')) as unknown
    return isObject(doc) && doc.schemaVersion === 2 && (Array.isArray(doc.manifests) || Array.isArray(doc.layers))
  } catch {
    return false
  }
}
