import { createHash } from 'node:crypto'
import { bumpRevision, type Executor } from '../../../gateway/catalog/accounts.ts'
import { newId } from '../../../gateway/catalog/db.ts'
import type { AccountRow, ArtifactRow, ReleaseRow } from '../../../gateway/catalog/types.ts'
import { CORE_METADATA_TYPE } from '../../../formats/python/core-metadata.ts'
import { seedArtifact, type SeedArtifactInput } from '../../helpers/seed.ts'

export const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex')

/** basicAuth is the header pip sends for `--index-url http://user:pass@host/…`. */
export const basicAuth = (user: string, pass: string): string =>
  `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`

/** pip's Accept header for simple pages (pip 23–26). */
export const PIP_ACCEPT =
  'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01'

/**
 * seedCoreMetadata stores a wheel's METADATA as the upload worker does: a manifest row of type
 * `application/vnd.pypi.core-metadata` with a `sha256:<hex>` digest of the UTF-8 text.
 */
export async function seedCoreMetadata(
  db: Executor,
  account: Pick<AccountRow, 'id'>,
  artifact: ArtifactRow,
  content: string,
): Promise<void> {
  const bytes = Buffer.from(content, 'utf8')
  await db
    .insertInto('manifests')
    .values({
      id: newId(),
      account_id: account.id,
      release_id: artifact.release_id,
      artifact_id: artifact.id,
      content_type: CORE_METADATA_TYPE,
      content_digest: `sha256:${sha256(bytes)}`,
      content_length: bytes.length,
      content_path: null,
      content,
      created_at: artifact.created_at,
      updated_at: artifact.created_at,
    })
    .execute()
  await bumpRevision(db, account.id)
}

export interface SeedFileInput extends Omit<SeedArtifactInput, 'release'> {
  release: ReleaseRow
  /** Stored as the artifact's created_at (upload-time), ISO 8601. */
  createdAt?: string
  /** METADATA text stored by "the worker"; none for sdists. */
  coreMetadata?: string
}

/** seedFile inserts an artifact (and its METADATA manifest) with a fixed created_at. */
export async function seedFile(
  db: Executor,
  account: Pick<AccountRow, 'id'>,
  input: SeedFileInput,
): Promise<ArtifactRow> {
  const { coreMetadata: content, createdAt, ...rest } = input
  const artifact = await seedArtifact(db, account, rest)
  if (createdAt) {
    await db.updateTable('artifacts').set({ created_at: createdAt }).where('id', '=', artifact.id).execute()
    artifact.created_at = createdAt
    await bumpRevision(db, account.id)
  }
  if (content !== undefined) await seedCoreMetadata(db, account, artifact, content)
  return artifact
}

export { type BuiltWheel, buildWheel, coreMetadata, type WheelSpec, zip } from '../../helpers/wheel.ts'
