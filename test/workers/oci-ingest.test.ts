import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MANIFEST_TYPES } from '../../formats/manifest-types.ts'
import type { Catalog } from '../../gateway/catalog/db.ts'
import type { ArtifactRow } from '../../gateway/catalog/types.ts'
import { type BlobStore, BlobStoreError } from '../../gateway/storage/blob-store.ts'
import { artifactKey, ociBlobKey } from '../../gateway/storage/keys.ts'
import { createWorker, type WorkerConfig } from '../../workers/index.ts'
import { enqueueOciIngest, enqueueProcessUpload } from '../../workers/kinds.ts'
import { ingestArtifact } from '../../workers/oci-ingest/index.ts'
import { catalogKinds } from '../helpers/catalog.ts'
import { buildTar, putUpload, seedArtifact } from '../helpers/fixtures.ts'
import * as seed from '../helpers/seed.ts'
import { OCI_INDEX, OCI_MANIFEST, type SynthImage, sha256hex, synthImage } from '../helpers/oci-image.ts'
import { openTwins, memoryLog, tempStore } from './helpers.ts'

/**
 * oci-ingest, through the real worker: process-upload verifies the tarball, oci-ingest stores its blobs
 * content-addressed and its manifests verbatim, and the artifact ends UPLOADED; a broken or hostile tarball ends
 * FAILED with its reason and leaves no row (nothing pullable).
 */

/** A store that records its writes and can fail the next write of an OCI blob. */
function instrumented(store: BlobStore) {
  const state = { writes: [] as string[], failNext: false }
  const wrapped: BlobStore = {
    name: store.name,
    stat: (k) => store.stat(k),
    read: (k, o) => store.read(k, o),
    async write(k, b, o) {
      if (state.failNext && k.startsWith('blobs/')) {
        state.failNext = false
        throw new BlobStoreError(store.name, `injected failure writing ${k}`)
      }
      state.writes.push(k)
      return store.write(k, b, o)
    },
    copy: (from, to, o) => store.copy(from, to, o),
    move: (from, to, o) => store.move(from, to, o),
    delete: (k) => store.delete(k),
    list: (p) => store.list(p),
    redirectUrl: (k, m, o) => store.redirectUrl(k, m, o),
    uploadUrl: (k, o) => store.uploadUrl(k, o),
    check: () => store.check(),
  }
  return { store: wrapped, state }
}

const FAST: WorkerConfig = { retryBaseMs: 0, leaseMs: 5000, concurrency: 1 }

describe.each(catalogKinds)('oci-ingest on %s', (kind) => {
  let catalog: Catalog
  let close: () => Promise<void>
  const { store: blobs, state } = instrumented(tempStore())

  beforeAll(async () => {
    const twins = await openTwins(kind)
    catalog = twins.a
    close = twins.close
  })
  afterAll(async () => close?.())

  async function drain(config: WorkerConfig = {}) {
    const worker = createWorker({ catalog, blobs, config: { ...FAST, ...config }, log: memoryLog() })
    for (let i = 0; i < 50; i++) if ((await worker.tick()) === 0) return
    throw new Error('queue never drained')
  }

  /** ingest uploads a tarball as a new artifact of an oci package and runs the workers until they are idle. */
  async function ingest(tar: Buffer, config: WorkerConfig = {}) {
    const seeded = await seedArtifact(catalog.db, {
      engine: 'oci',
      packageKey: 'app',
      filename: 'image.tar',
      filetype: 'tar',
    })
    await putUpload(blobs, seeded, tar)
    await enqueueProcessUpload(catalog.db, { id: seeded.artifactId, account_id: seeded.accountId })
    await drain(config)
    return { seeded, ...(await rowsOf(seeded.artifactId)) }
  }

  async function rowsOf(artifactId: string) {
    const artifact = (await catalog.db
      .selectFrom('artifacts')
      .selectAll()
      .where('id', '=', artifactId)
      .executeTakeFirstOrThrow()) as ArtifactRow
    const manifests = await catalog.db
      .selectFrom('manifests')
      .select(['content_type', 'content_digest', 'content_length', 'content_path', 'content'])
      .where('artifact_id', '=', artifactId)
      .orderBy('content_path')
      .execute()
    const descriptors = await catalog.db
      .selectFrom('descriptors')
      .select(['content_type', 'content_digest', 'content_length', 'content_path'])
      .where('artifact_id', '=', artifactId)
      .orderBy('content_digest')
      .execute()
    return { artifact, manifests, descriptors }
  }

  const tarOf = (image: Pick<SynthImage, 'entries'>) => buildTar(image.entries)

  it('stores the manifests verbatim and every blob content-addressed, then the artifact is UPLOADED', async () => {
    const image = synthImage({ index: true })
    const { seeded, artifact, manifests, descriptors } = await ingest(await tarOf(image))
    expect(artifact).toMatchObject({ status: 'UPLOADED', status_reason: null })
    const indexJson = image.entries[1].content as string
    expect(manifests).toEqual([
      ...[image.top, image.manifest]
        .map((m) => ({
          content_type: m.mediaType,
          content_digest: m.digest,
          content_length: m.size,
          content_path: `blobs/sha256/${m.digest.slice(7)}`,
          content: m.body.toString('utf8'),
        }))
        .sort((a, b) => (a.content_path < b.content_path ? -1 : 1)),
      {
        content_type: MANIFEST_TYPES.ociLayoutIndex,
        content_digest: `sha256:${sha256hex(indexJson)}`,
        content_length: indexJson.length,
        content_path: 'index.json',
        content: indexJson,
      },
    ])
    // The arm64 manifest the index lists is not in the tarball: skipped, not an error.
    expect(descriptors.map((d) => [d.content_digest, d.content_type, Number(d.content_length)])).toEqual(
      image.blobs.map((b) => [b.digest, b.mediaType, b.size]).sort((a, b) => (a[0] < b[0] ? -1 : 1)),
    )
    for (const b of image.blobs) {
      const stored = await blobs.read(ociBlobKey(seeded.accountId, b.digest))
      const chunks: Buffer[] = []
      for await (const c of stored) chunks.push(c as Buffer)
      expect(Buffer.concat(chunks).equals(b.body)).toBe(true)
    }
  })

  it('streams blobs larger than the manifest limit into the store, verified', async () => {
    const image = synthImage({ layerBytes: Buffer.alloc(256 * 1024, 3) })
    const { seeded, artifact } = await ingest(await tarOf(image), { ociLimits: { maxManifestBytes: 4096 } })
    expect(artifact.status).toBe('UPLOADED')
    expect((await blobs.stat(ociBlobKey(seeded.accountId, image.layer.digest))).size).toBe(256 * 1024)
  })

  it('does not store a blob the account holds already (the same image in another release)', async () => {
    const image = synthImage({ layerBytes: Buffer.alloc(4096, 9) })
    const tar = await tarOf(image)
    state.writes.length = 0
    const first = await ingest(tar)
    expect(first.artifact.status).toBe('UPLOADED')
    expect(state.writes.filter((k) => k.startsWith('blobs/')).sort()).toEqual(
      image.blobs.map((b) => ociBlobKey(first.seeded.accountId, b.digest)).sort(),
    )
    // A second release of the same package, in the same account, with the same image.
    const account = { id: first.seeded.accountId }
    const release = await seed.seedRelease(catalog.db, account, {
      product: first.seeded.productId,
      package: first.seeded.packageId,
      version: '2.0.0',
      status: 'PUBLISHED',
    })
    const artifact = await seed.seedArtifact(catalog.db, account, {
      release,
      filename: 'image.tar',
      status: 'WAITING',
    })
    await blobs.write(artifactKey(account.id, release.id, 'image.tar'), tar, { size: tar.length })
    state.writes.length = 0
    await enqueueProcessUpload(catalog.db, artifact)
    await drain()
    expect((await rowsOf(artifact.id)).artifact.status).toBe('UPLOADED')
    expect(state.writes.filter((k) => k.startsWith('blobs/'))).toEqual([])
  })

  it('changes nothing when the job runs again, and resumes after a storage failure', async () => {
    const image = synthImage()
    state.failNext = true
    const { seeded, artifact, manifests } = await ingest(await tarOf(image))
    // The injected failure failed the first attempt; the retry found the blobs written before it and went on.
    expect(state.failNext).toBe(false)
    expect(artifact.status).toBe('UPLOADED')
    const again = await ingestArtifact({ catalog, blobs, log: memoryLog() }, seeded.artifactId)
    expect(again).toEqual({ status: 'skipped' })
    await enqueueOciIngest(catalog.db, { id: seeded.artifactId, account_id: seeded.accountId })
    await drain()
    expect((await rowsOf(seeded.artifactId)).manifests).toEqual(manifests)
  })

  describe('hostile or broken tarballs end FAILED with their reason and nothing pullable', () => {
    const image = synthImage({ index: true })
    const [layoutFile, indexFile, , , ...blobEntries] = image.entries
    const layerName = `blobs/sha256/${image.layer.digest.slice(7)}`
    const indexJsonBytes = Buffer.byteLength(indexFile.content as string)
    const cases: [string, () => Promise<Buffer>, RegExp, WorkerConfig?][] = [
      [
        'a symbolic link',
        () => buildTar([...image.entries, { name: 'blobs/sha256/evil', type: 'symlink', linkname: '/etc/passwd' }]),
        /^the image tarball holds a symbolic link: blobs\/sha256\/evil -> \/etc\/passwd$/,
      ],
      [
        'a hard link',
        () => buildTar([...image.entries, { name: 'blobs/sha256/evil', type: 'link', linkname: 'index.json' }]),
        /^the image tarball holds a hard link: blobs\/sha256\/evil -> index.json$/,
      ],
      [
        'a .. path',
        () => buildTar([...image.entries, { name: 'blobs/../../etc/cron.d/x', content: 'x' }]),
        /^the image tarball holds an unsafe path: "blobs\/..\/..\/etc\/cron.d\/x"$/,
      ],
      [
        'an absolute path',
        () => buildTar([{ name: '/index.json', content: '{}' }, ...image.entries]),
        /^the image tarball holds an unsafe path: "\/index.json"$/,
      ],
      [
        'conflicting duplicate index.json entries',
        () => buildTar([...image.entries, { name: 'index.json', content: '{"schemaVersion":2,"manifests":[]}' }]),
        /^the image tarball holds conflicting duplicate entries for index.json$/,
      ],
      [
        'a blob whose content does not match its digest',
        () =>
          buildTar([
            layoutFile,
            indexFile,
            ...blobEntries.map((e) => (e.name === layerName ? { ...e, content: 'x' } : e)),
          ]),
        new RegExp(`^digest mismatch: ${layerName} holds content whose sha256 is ${sha256hex('x')}$`),
      ],
      [
        'a streamed blob whose content does not match its digest',
        () =>
          buildTar([
            layoutFile,
            indexFile,
            ...blobEntries.map((e) => (e.name === layerName ? { ...e, content: Buffer.alloc(1024, 8) } : e)),
          ]),
        /^digest mismatch: blobs\/sha256\/[0-9a-f]{64} holds content whose sha256 is [0-9a-f]{64}$/,
        { ociLimits: { maxManifestBytes: 1000 } },
      ],
      [
        'a truncated tarball',
        async () => {
          const tar = await buildTar(image.entries)
          return tar.subarray(0, tar.length - 1024 - 600)
        },
        /^the image tarball is truncated$/,
      ],
      [
        'no tar at all',
        async () => Buffer.alloc(4096, 0x41),
        /^the image tarball is not a valid tar archive: Invalid tar header$/,
      ],
      [
        'no oci-layout',
        () => buildTar(image.entries.filter((e) => e.name !== 'oci-layout')),
        /^oci-layout is missing: not an OCI image layout tarball$/,
      ],
      [
        'no index.json',
        () => buildTar(image.entries.filter((e) => e.name !== 'index.json')),
        /^index.json is missing: not an OCI image layout tarball$/,
      ],
      [
        'a layer missing from a present manifest',
        () => buildTar(image.entries.filter((e) => e.name !== layerName)),
        /^sha256:[0-9a-f]{64} layers\[0\] \(sha256:[0-9a-f]{64}\) is missing from the tarball$/,
      ],
      [
        'a descriptor whose size is wrong',
        () => {
          const index = JSON.parse(indexFile.content as string)
          index.manifests[0].size += 1
          return buildTar([layoutFile, { name: 'index.json', content: JSON.stringify(index) }, ...blobEntries])
        },
        /^size mismatch: index.json manifests\[0\] declares \d+ bytes for sha256:[0-9a-f]{64}, the tarball holds \d+$/,
      ],
      [
        'a manifest whose mediaType contradicts its descriptor',
        () => {
          const index = JSON.parse(indexFile.content as string)
          index.manifests[0].mediaType = OCI_MANIFEST
          return buildTar([layoutFile, { name: 'index.json', content: JSON.stringify(index) }, ...blobEntries])
        },
        new RegExp(`declares mediaType ${OCI_INDEX.replaceAll('.', '\\.').replace('+', '\\+')} but is referenced as`),
      ],
      [
        'a manifest over the manifest limit',
        async () => buildTar(image.entries),
        new RegExp(
          `^index.json manifests\\[0\\] \\(sha256:[0-9a-f]{64}\\) is larger than the ${indexJsonBytes} bytes limit$`,
        ),
        // index.json itself fits; the index it points at does not.
        { ociLimits: { maxManifestBytes: indexJsonBytes } },
      ],
      [
        'too many entries',
        async () => buildTar(image.entries),
        /^the image tarball has more than 3 entries$/,
        { ociLimits: { maxEntries: 3 } },
      ],
      [
        'a blob over the blob limit',
        async () => buildTar(image.entries),
        new RegExp(`^${layerName} is larger than the 1000 bytes limit$`),
        { ociLimits: { maxBlobBytes: 1000 } },
      ],
      [
        'a tarball over the size limit',
        async () => buildTar(image.entries),
        /^the image tarball is larger than the 2 KiB limit$/,
        { ociLimits: { maxTarballBytes: 2048 } },
      ],
    ]

    it.each(cases)('%s', async (_label, make, reason, config) => {
      const { seeded, artifact, manifests, descriptors } = await ingest(await make(), config)
      expect(artifact.status).toBe('FAILED')
      expect(artifact.status_reason).toMatch(reason)
      expect(manifests).toEqual([])
      expect(descriptors).toEqual([])
      if (_label.includes('streamed')) {
        await expect(blobs.stat(ociBlobKey(seeded.accountId, image.layer.digest))).rejects.toThrow(/not found/)
      }
    })
  })
})
