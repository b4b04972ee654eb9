import type { Executor } from '../../../gateway/catalog/accounts.ts'
import type { AccountRow, ArtifactRow, ReleaseRow } from '../../../gateway/catalog/types.ts'
import type { BlobStore } from '../../../gateway/storage/blob-store.ts'
import { artifactKey } from '../../../gateway/storage/keys.ts'
import { enqueueProcessUpload } from '../../../workers/kinds.ts'
import { createWorker } from '../../../workers/index.ts'
import type { Catalog } from '../../../gateway/catalog/db.ts'
import { buildTar } from '../../helpers/fixtures.ts'
import type { SynthImage } from '../../helpers/oci-image.ts'
import { seedArtifact } from '../../helpers/seed.ts'

const silent = { debug() {}, info() {}, warn() {}, error() {} }

export const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`

/**
 * publishImage uploads an image layout tarball as an artifact of a release (WAITING, as the API creates it) and
 * runs the real workers (process-upload, then oci-ingest) until they are idle; the artifact ends UPLOADED.
 */
export async function publishImage(
  env: { catalog: Catalog; blobs: BlobStore; account: Pick<AccountRow, 'id'> },
  release: ReleaseRow,
  image: Pick<SynthImage, 'entries'> | Buffer,
  filename = 'image.tar',
): Promise<ArtifactRow> {
  const tar = Buffer.isBuffer(image) ? image : await buildTar(image.entries)
  const db: Executor = env.catalog.db
  const artifact = await seedArtifact(db, env.account, { release, filename, filetype: 'tar', status: 'WAITING' })
  await env.blobs.write(artifactKey(env.account.id, release.id, filename), tar, { size: tar.length })
  await enqueueProcessUpload(db, artifact)
  const worker = createWorker({ catalog: env.catalog, blobs: env.blobs, config: { retryBaseMs: 0 }, log: silent })
  for (let i = 0; i < 20 && (await worker.tick()) > 0; i++);
  const row = await db.selectFrom('artifacts').selectAll().where('id', '=', artifact.id).executeTakeFirstOrThrow()
  if (row.status !== 'UPLOADED') throw new Error(`image not ingested: ${row.status} ${row.status_reason}`)
  return row
}
