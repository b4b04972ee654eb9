/**
 * `npx tsx bench/oci-ingest-rss.ts [--gib 2]`
 *
 * Peak memory of OCI image ingestion. Writes an image layout tarball whose one layer is `--gib` GiB of zeros
 * straight into a temporary filesystem store (the tarball is a sparse file, so it costs no disk; the ingested
 * layer blob does), seeds its artifact in a temporary SQLite catalog, then runs the real job handlers in child
 * processes and prints each child's peak RSS (`process.resourceUsage().maxRSS`): process-upload (size and
 * checksum), then oci-ingest (tar-stream pass, blob stored content-addressed, manifests recorded), next to the RSS
 * right after the modules loaded (tsx compiles the sources in-process, which is most of it). Not part of the
 * test run: it moves a few GiB through the disk and takes about a minute.
 */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { bootstrap } from '../gateway/catalog/bootstrap.ts'
import { openCatalog } from '../gateway/catalog/db.ts'
import { FilesystemStore } from '../gateway/storage/filesystem-store.ts'
import { artifactKey } from '../gateway/storage/keys.ts'
import { createWorker } from '../workers/index.ts'
import { ociIngestHandler } from '../workers/oci-ingest/index.ts'
import { processUploadHandler } from '../workers/process-upload/index.ts'
import { enqueueProcessUpload } from '../workers/kinds.ts'
import { seedArtifact, seedPackage, seedProduct, seedRelease } from '../test/helpers/seed.ts'

const MiB = 1024 ** 2
const SECRET = 'oci-ingest-rss-signing-secret-0123456789'

/** ustarHeader encodes one regular-file tar header (names < 100 bytes, sizes < 8 GiB). */
function ustarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512)
  const field = (value: string, offset: number, length: number) => h.write(value, offset, length, 'ascii')
  const octal = (n: number, length: number) => n.toString(8).padStart(length - 1, '0')
  field(name, 0, 100)
  field(octal(0o644, 8), 100, 8)
  field(octal(0, 8), 108, 8)
  field(octal(0, 8), 116, 8)
  field(octal(size, 12), 124, 12)
  field(octal(0, 12), 136, 12)
  field('        ', 148, 8)
  field('0', 156, 1)
  field('ustar\u000000', 257, 8)
  let sum = 0
  for (const b of h) sum += b
  field(`${octal(sum, 7)}\u0000 `, 148, 8)
  return h
}

const pad = (n: number) => (512 - (n % 512)) % 512

/** writeSparseImage writes the tarball and returns its size and the layer digest. */
async function writeSparseImage(path: string, layerBytes: number): Promise<{ size: number; layer: string }> {
  const hash = createHash('sha256')
  const zeros = Buffer.alloc(MiB)
  for (let left = layerBytes; left > 0; left -= MiB) hash.update(left >= MiB ? zeros : zeros.subarray(0, left))
  const layer = `sha256:${hash.digest('hex')}`
  const blob = (body: string) => ({
    body: Buffer.from(body),
    digest: `sha256:${createHash('sha256').update(body).digest('hex')}`,
  })
  const config = blob(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer] } }),
  )
  const manifest = blob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: config.digest,
        size: config.body.length,
      },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer, size: layerBytes }],
    }),
  )
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifest.digest, size: manifest.body.length },
    ],
  })
  const small: [string, Buffer][] = [
    ['oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}')],
    ['index.json', Buffer.from(index)],
    [`blobs/sha256/${config.digest.slice(7)}`, config.body],
    [`blobs/sha256/${manifest.digest.slice(7)}`, manifest.body],
  ]
  await mkdir(dirname(path), { recursive: true })
  const file = await open(path, 'w')
  let at = 0
  for (const [name, body] of small) {
    await file.write(
      Buffer.concat([ustarHeader(name, body.length), body, Buffer.alloc(pad(body.length))]),
      0,
      undefined,
      at,
    )
    at += 512 + body.length + pad(body.length)
  }
  await file.write(ustarHeader(`blobs/sha256/${layer.slice(7)}`, layerBytes), 0, 512, at)
  at += 512 + layerBytes + pad(layerBytes) + 1024
  // The layer's zeros and the two end-of-archive blocks are a hole: read back as zeros, stored as nothing.
  await file.truncate(at)
  await file.close()
  return { size: at, layer }
}

interface Setup {
  database: string
  root: string
  artifactId: string
}

/** child runs one handler until the queue is idle and prints its peak RSS. */
async function child(phase: 'process-upload' | 'oci-ingest', setup: Setup): Promise<void> {
  const loadedMiB = Math.round(process.memoryUsage.rss() / MiB)
  const catalog = await openCatalog(setup.database)
  const blobs = new FilesystemStore({ root: setup.root, signingSecret: SECRET, presignTtl: 900, uploadTtl: 3600 })
  const handler = phase === 'process-upload' ? processUploadHandler() : ociIngestHandler()
  const log = { debug() {}, info() {}, warn() {}, error: (o: object, m?: string) => console.error(m, o) }
  const worker = createWorker({ catalog, blobs, log, config: { handlers: [handler], concurrency: 1 } })
  const started = performance.now()
  while ((await worker.tick()) > 0);
  const seconds = (performance.now() - started) / 1000
  const row = await catalog.db
    .selectFrom('artifacts')
    .select(['status', 'status_reason'])
    .where('id', '=', setup.artifactId)
    .executeTakeFirstOrThrow()
  await catalog.close()
  const peakMiB = process.resourceUsage().maxRSS / 1024
  const seconds1 = Number(seconds.toFixed(1))
  console.log(
    JSON.stringify({
      phase,
      rssAfterImportsMiB: loadedMiB,
      peakRssMiB: Math.round(peakMiB),
      seconds: seconds1,
      ...row,
    }),
  )
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { gib: { type: 'string', default: '2' }, child: { type: 'string' } } })
  if (values.child) return child(values.child as 'process-upload' | 'oci-ingest', JSON.parse(process.env.RSS_SETUP!))
  const dir = await mkdtemp(join(tmpdir(), 'pkgway-oci-rss-'))
  try {
    const database = `sqlite:${join(dir, 'catalog.db')}`
    const root = join(dir, 'blobs')
    const catalog = await openCatalog(database)
    await catalog.migrate()
    const { account } = await bootstrap(catalog)
    const db = catalog.db
    const product = await seedProduct(db, account, { code: 'big' })
    const pkg = await seedPackage(db, account, { product, key: 'big', engine: 'oci' })
    const release = await seedRelease(db, account, { product, package: pkg, version: '1.0.0', status: 'PUBLISHED' })
    const layerBytes = Math.round(Number(values.gib) * 1024 ** 3)
    const image = await writeSparseImage(join(root, artifactKey(account.id, release.id, 'image.tar')), layerBytes)
    const artifact = await seedArtifact(db, account, {
      release,
      filename: 'image.tar',
      filetype: 'tar',
      filesize: image.size,
      status: 'WAITING',
    })
    await enqueueProcessUpload(db, artifact)
    await catalog.close()
    console.log(JSON.stringify({ tarballBytes: image.size, layerBytes, layer: image.layer }))
    const setup: Setup = { database, root, artifactId: artifact.id }
    for (const phase of ['process-upload', 'oci-ingest']) {
      const result = spawnSync(
        process.execPath,
        ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', phase],
        {
          env: { ...process.env, RSS_SETUP: JSON.stringify(setup) },
          stdio: ['ignore', 'inherit', 'inherit'],
        },
      )
      if (result.status !== 0) throw new Error(`${phase} exited with ${result.status}`)
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

await main()
