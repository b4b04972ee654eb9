import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

/**
 * OCI image layouts for tests, built without a Docker daemon: umoci builds real single-platform images, and
 * {@link buildMultiPlatformLayout} wraps two of them in an image index together with a buildx-style attestation
 * manifest (what `docker buildx build` pushes by default). {@link tarLayout} tars a layout the way
 * `buildx -o type=oci` does (`oci-layout`, `index.json`, `blobs/…`).
 */

const run = promisify(execFile)

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  platform?: { architecture: string; os: string }
  annotations?: Record<string, string>
}

export const sha256hex = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')

/** umociImage adds a one-layer image `<layout>:<tag>` (a file /hello.txt) for a platform to a layout. */
export async function umociImage(layout: string, tag: string, arch = 'amd64', text = `hello ${tag}\n`) {
  if (!(await exists(join(layout, 'oci-layout')))) await run('umoci', ['init', '--layout', layout])
  await run('umoci', ['new', '--image', `${layout}:${tag}`])
  const file = join(layout, '..', `hello-${tag}.txt`)
  await writeFile(file, text)
  await run('umoci', ['insert', '--image', `${layout}:${tag}`, file, '/hello.txt'])
  await run('umoci', [
    'config',
    '--image',
    `${layout}:${tag}`,
    '--config.cmd',
    '/hello.txt',
    '--architecture',
    arch,
    '--os',
    'linux',
  ])
}

async function exists(path: string): Promise<boolean> {
  return readFile(path).then(
    () => true,
    () => false,
  )
}

/** readIndex reads a layout's index.json. */
export async function readIndex(layout: string): Promise<{ manifests: Descriptor[] } & Record<string, unknown>> {
  return JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'))
}

/** writeBlob stores a blob in a layout and returns its descriptor. */
export async function writeBlob(layout: string, mediaType: string, body: Buffer | string): Promise<Descriptor> {
  const bytes = Buffer.from(body)
  const hex = sha256hex(bytes)
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true })
  await writeFile(join(layout, 'blobs', 'sha256', hex), bytes)
  return { mediaType, digest: `sha256:${hex}`, size: bytes.length }
}

/** readBlob reads a blob of a layout. */
export const readBlob = (layout: string, digest: string) => readFile(join(layout, 'blobs', ...digest.split(':')))

export interface MultiPlatformImage {
  layout: string
  /** The top-level index, and the manifests it lists (amd64, arm64, attestation of amd64). */
  index: Descriptor
  amd64: Descriptor
  arm64: Descriptor
  attestation: Descriptor
}

/**
 * buildMultiPlatformLayout builds linux/amd64 and linux/arm64 images with umoci and writes an OCI index listing
 * both plus an in-toto provenance attestation manifest for amd64 (platform unknown/unknown, buildx's annotations);
 * `index.json` then names only that index (ref.name = tag), and unreferenced blobs are garbage-collected.
 */
export async function buildMultiPlatformLayout(dir: string, tag: string): Promise<MultiPlatformImage> {
  const layout = join(dir, 'layout')
  await umociImage(layout, 'amd64', 'amd64', `hello ${tag} amd64\n`)
  await umociImage(layout, 'arm64', 'arm64', `hello ${tag} arm64\n`)
  const byTag = new Map(
    (await readIndex(layout)).manifests.map((d) => [d.annotations?.['org.opencontainers.image.ref.name'], d]),
  )
  const amd64 = strip(byTag.get('amd64')!, { architecture: 'amd64', os: 'linux' })
  const arm64 = strip(byTag.get('arm64')!, { architecture: 'arm64', os: 'linux' })
  const statement = await writeBlob(
    layout,
    'application/vnd.in-toto+json',
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v0.1',
      predicateType: 'https://slsa.dev/provenance/v0.2',
      subject: [{ name: '_', digest: { sha256: amd64.digest.slice(7) } }],
      predicate: {},
    }),
  )
  const config = await writeBlob(
    layout,
    'application/vnd.oci.image.config.v1+json',
    JSON.stringify({ architecture: 'unknown', os: 'unknown', config: {}, rootfs: { type: 'layers', diff_ids: [] } }),
  )
  const attestationManifest = await writeBlob(
    layout,
    OCI_MANIFEST,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config,
      layers: [{ ...statement, annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' } }],
    }),
  )
  const attestation: Descriptor = {
    ...attestationManifest,
    annotations: {
      'vnd.docker.reference.digest': amd64.digest,
      'vnd.docker.reference.type': 'attestation-manifest',
    },
    platform: { architecture: 'unknown', os: 'unknown' },
  }
  const index = await writeBlob(
    layout,
    OCI_INDEX,
    JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [amd64, arm64, attestation] }),
  )
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ ...index, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    }),
  )
  await run('umoci', ['gc', '--layout', layout])
  return { layout, index, amd64, arm64, attestation }
}

function strip(d: Descriptor, platform: Descriptor['platform']): Descriptor {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size, platform }
}

/** tarLayout tars a layout (GNU tar, as buildx lays it out: oci-layout, index.json, then blobs). */
export async function tarLayout(layout: string, out: string): Promise<Buffer> {
  await run('tar', ['-cf', out, '-C', layout, 'oci-layout', 'index.json', 'blobs'])
  return readFile(out)
}

/** A blob of a synthetic image. */
export interface SynthBlob extends Descriptor {
  body: Buffer
}

export interface SynthImage {
  /** Tar entries in buildx's order: oci-layout, index.json, blobs/, blobs/sha256/, then the blobs. */
  entries: { name: string; type?: 'file' | 'directory'; content?: Buffer | string }[]
  /** What index.json points at: the image manifest, or an index (`index: true`). */
  top: SynthBlob
  manifest: SynthBlob
  config: SynthBlob
  layer: SynthBlob
  /** Every blob in the tarball (each once). */
  blobs: SynthBlob[]
  extra: { attestation?: SynthBlob; referrer?: SynthBlob }
}

function synthBlob(mediaType: string, body: Buffer | string, extra: Partial<Descriptor> = {}): SynthBlob {
  const bytes = Buffer.from(body)
  return { mediaType, digest: `sha256:${sha256hex(bytes)}`, size: bytes.length, body: bytes, ...extra }
}

function descriptorOf({ body: _body, ...d }: SynthBlob): Descriptor {
  return JSON.parse(JSON.stringify(d))
}

/**
 * synthImage builds a small image layout in memory (no tools), for tests that then serve it or break it on purpose:
 * one linux/amd64 manifest with a config and a layer of `layerBytes`. With `index`, it is wrapped in an OCI index
 * that also lists a linux/arm64 manifest whose blob is left out (as `docker save` does for other platforms) and,
 * with `attestation`, a buildx-style attestation manifest for amd64. With `referrer`, index.json also lists a
 * signature-like artifact manifest whose `subject` is the amd64 manifest (OCI 1.1 referrers).
 */
export function synthImage(
  opts: { index?: boolean; attestation?: boolean; referrer?: boolean; layerBytes?: Buffer; tag?: string } = {},
): SynthImage {
  const layer = synthBlob('application/vnd.oci.image.layer.v1.tar', opts.layerBytes ?? Buffer.alloc(1024, 7))
  const config = synthBlob(
    'application/vnd.oci.image.config.v1+json',
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } }),
  )
  const manifest = synthBlob(
    OCI_MANIFEST,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: descriptorOf(config),
      layers: [descriptorOf(layer)],
    }),
    { platform: { architecture: 'amd64', os: 'linux' } },
  )
  const blobs = [layer, config, manifest]
  let top = manifest
  const extra: SynthImage['extra'] = {}
  if (opts.index) {
    const absent = { mediaType: OCI_MANIFEST, digest: `sha256:${'a'.repeat(64)}`, size: 500 }
    const children: Descriptor[] = [
      descriptorOf(manifest),
      { ...absent, platform: { architecture: 'arm64', os: 'linux' } },
    ]
    if (opts.attestation) {
      const statement = synthBlob('application/vnd.in-toto+json', JSON.stringify({ subject: manifest.digest }))
      const attestation = synthBlob(
        OCI_MANIFEST,
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: descriptorOf(config),
          layers: [descriptorOf(statement)],
        }),
        {
          platform: { architecture: 'unknown', os: 'unknown' },
          annotations: {
            'vnd.docker.reference.digest': manifest.digest,
            'vnd.docker.reference.type': 'attestation-manifest',
          },
        },
      )
      blobs.push(statement, attestation)
      children.push(descriptorOf(attestation))
      extra.attestation = attestation
    }
    top = synthBlob(OCI_INDEX, JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: children }))
    blobs.push(top)
  }
  const { platform: _platform, ...topDescriptor } = descriptorOf(top)
  const roots: Descriptor[] = [
    { ...topDescriptor, annotations: { 'org.opencontainers.image.ref.name': opts.tag ?? '1.0.0' } },
  ]
  if (opts.referrer) {
    const empty = synthBlob('application/vnd.oci.empty.v1+json', '{}')
    const signature = synthBlob(
      OCI_MANIFEST,
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: 'application/vnd.example.signature',
        config: descriptorOf(empty),
        layers: [descriptorOf(empty)],
        subject: descriptorOf({ ...manifest, platform: undefined }),
        annotations: { 'org.example.signed-by': 'test' },
      }),
    )
    blobs.push(empty, signature)
    roots.push(descriptorOf(signature))
    extra.referrer = signature
  }
  const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: roots }
  return {
    entries: [
      { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
      { name: 'index.json', content: JSON.stringify(index) },
      { name: 'blobs/', type: 'directory' },
      { name: 'blobs/sha256/', type: 'directory' },
      ...blobs.map((b) => ({ name: `blobs/sha256/${b.digest.slice(7)}`, content: b.body })),
    ],
    top,
    manifest,
    config,
    layer,
    blobs,
    extra,
  }
}
