import { createHash } from 'node:crypto'
import { text } from 'node:stream/consumers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Catalog } from '../../gateway/catalog/db.ts'
import { BlobNotFoundError, type BlobStore } from '../../gateway/storage/blob-store.ts'
import { sealedKey } from '../../gateway/storage/keys.ts'
import { processArtifact } from '../../workers/process-upload/index.ts'
import { locateUpload, uploadArrived } from '../../workers/process-upload/promote.ts'
import { putUpload, type Seeded, seedArtifact } from '../helpers/fixtures.ts'
import { memoryLog, openTwins, tempStore } from './helpers.ts'

const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex')

describe('write-once promotion of uploads (process-upload)', () => {
  let twins: Awaited<ReturnType<typeof openTwins>>
  let catalog: Catalog
  let blobs: BlobStore
  const ctx = () => ({ catalog, blobs, log: memoryLog() })
  const row = (s: Seeded) =>
    catalog.db.selectFrom('artifacts').selectAll().where('id', '=', s.artifactId).executeTakeFirstOrThrow()
  const read = async (key: string) => text(await blobs.read(key))
  const missing = async (key: string) => (await blobs.stat(key).catch((err) => err)) instanceof BlobNotFoundError

  beforeAll(async () => {
    twins = await openTwins('sqlite')
    catalog = twins.a
    blobs = tempStore()
  })
  afterAll(async () => {
    await twins?.close()
  })

  it('serves nothing before verification, then promotes the verified bytes and clears the upload', async () => {
    const s = await seedArtifact(catalog.db, { filename: 'app.bin', checksum: sha256hex('good bytes') })
    expect(await uploadArrived(ctx(), { ...(await row(s)), upload_key: s.upload })).toBe(false)
    await putUpload(blobs, s, Buffer.from('good bytes'))
    expect(await uploadArrived(ctx(), { ...(await row(s)), upload_key: s.upload })).toBe(true)
    expect(await missing(s.key)).toBe(true)
    expect(await processArtifact(ctx(), s.artifactId)).toEqual({ status: 'UPLOADED' })
    expect(await read(s.key)).toBe('good bytes')
    expect((await row(s)).upload_key).toBeNull()
    expect(await missing(s.upload)).toBe(true)
    expect(await missing(sealedKey(s.upload))).toBe(true)
  })

  it('never promotes bytes that fail verification, and keeps them sealed for a corrected checksum', async () => {
    const s = await seedArtifact(catalog.db, { filename: 'bad.bin', checksum: sha256hex('what was declared') })
    await putUpload(blobs, s, Buffer.from('what was uploaded'))
    const failed = await processArtifact(ctx(), s.artifactId)
    expect(failed.status).toBe('FAILED')
    expect(failed.reason).toMatch(/^checksum mismatch/)
    expect(await missing(s.key)).toBe(true)
    expect(await read(sealedKey(s.upload))).toBe('what was uploaded')

    // PATCH of the checksum re-verifies the same (sealed) bytes: artifact-events puts it back to PROCESSING.
    await catalog.db
      .updateTable('artifacts')
      .set({ status: 'PROCESSING', checksum: sha256hex('what was uploaded') })
      .where('id', '=', s.artifactId)
      .execute()
    expect(await processArtifact(ctx(), s.artifactId)).toEqual({ status: 'UPLOADED' })
    expect(await read(s.key)).toBe('what was uploaded')
  })

  it('verifies and serves the sealed copy: bytes PUT again after sealing are never promoted', async () => {
    const s = await seedArtifact(catalog.db, { filename: 'raced.bin', filesize: 8 })
    await putUpload(blobs, s, Buffer.from('verified'))
    const a = { ...(await row(s)), upload_key: s.upload }
    expect(await locateUpload(ctx(), a)).toEqual({ key: sealedKey(s.upload), served: s.key, promote: true })
    // A presigned URL may still be used again (S3 cannot refuse it): it only rewrites the upload key.
    await putUpload(blobs, s, Buffer.from('replaced'))
    expect(await locateUpload(ctx(), a)).toEqual({ key: sealedKey(s.upload), served: s.key, promote: true })
    expect(await processArtifact(ctx(), s.artifactId)).toEqual({ status: 'UPLOADED' })
    expect(await read(s.key)).toBe('verified')
  })

  it('re-verifies already promoted bytes in place (rows without an upload key)', async () => {
    const s = await seedArtifact(catalog.db, { filename: 'legacy.bin', filesize: 6 })
    await catalog.db.updateTable('artifacts').set({ upload_key: null }).where('id', '=', s.artifactId).execute()
    await blobs.write(s.key, Buffer.from('served'))
    expect(await locateUpload(ctx(), await row(s).then((r) => ({ ...r, upload_key: null })))).toEqual({
      key: s.key,
      served: s.key,
      promote: false,
    })
    expect(await processArtifact(ctx(), s.artifactId)).toEqual({ status: 'UPLOADED' })
    expect(await read(s.key)).toBe('served')
  })
})
