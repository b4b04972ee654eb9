import type { Executor } from './accounts.ts'
import { newId } from './db.ts'
import type { ArtifactRow, ArtifactStatus, EngineKey, ManifestRow } from './types.ts'

/** artifactIdWithFilename finds the artifact of a release with that filename, if any. */
export async function artifactIdWithFilename(
  db: Executor,
  releaseId: string,
  filename: string,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('artifacts')
    .select('id')
    .where('release_id', '=', releaseId)
    .where('filename', '=', filename)
    .executeTakeFirst()
  return row?.id
}

/** insertArtifact stores a new artifact. */
export async function insertArtifact(db: Executor, row: ArtifactRow): Promise<void> {
  await db.insertInto('artifacts').values(row).execute()
}

/** updateArtifact changes columns of an artifact. */
export async function updateArtifact(db: Executor, id: string, patch: Partial<ArtifactRow>): Promise<void> {
  await db.updateTable('artifacts').set(patch).where('id', '=', id).execute()
}

/** artifactById reads an artifact that exists. */
export async function artifactById(db: Executor, id: string): Promise<ArtifactRow> {
  return db.selectFrom('artifacts').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
}

/** deleteArtifact removes an artifact (its manifests and descriptors cascade). */
export async function deleteArtifact(db: Executor, id: string): Promise<void> {
  await db.deleteFrom('artifacts').where('id', '=', id).execute()
}

/** What the upload worker needs to know about an artifact. */
export interface ArtifactInfo {
  id: string
  account_id: string
  release_id: string
  filename: string
  filetype: string | null
  filesize: number | null
  checksum: string | null
  status: ArtifactStatus
  created_at: string
  upload_key: string | null
  release_version: string
  package_key: string | null
  package_engine: EngineKey | null
}

/** loadArtifact reads what processing an upload needs of its artifact, release and package. */
export async function loadArtifact(db: Executor, id: string): Promise<ArtifactInfo | undefined> {
  const row = await db
    .selectFrom('artifacts as a')
    .innerJoin('releases as r', 'r.id', 'a.release_id')
    .leftJoin('packages as p', 'p.id', 'r.package_id')
    .select([
      'a.id',
      'a.account_id',
      'a.release_id',
      'a.filename',
      'a.filetype',
      'a.filesize',
      'a.checksum',
      'a.status',
      'a.created_at',
      'a.upload_key',
      'r.version as release_version',
      'p.key as package_key',
      'p.engine as package_engine',
    ])
    .where('a.id', '=', id)
    .executeTakeFirst()
  if (!row) return undefined
  return { ...row, filesize: row.filesize === null ? null : Number(row.filesize), upload_key: row.upload_key ?? null }
}

/** updateArtifactIf changes columns of an artifact whose status is one of `from`; false when it was not. */
export async function updateArtifactIf(
  db: Executor,
  id: string,
  from: readonly ArtifactStatus[],
  patch: Partial<ArtifactRow>,
): Promise<boolean> {
  const r = await db
    .updateTable('artifacts')
    .set(patch)
    .where('id', '=', id)
    .where('status', 'in', [...from])
    .executeTakeFirst()
  return Number(r.numUpdatedRows) > 0
}

/** A manifest to store: everything but the ids and timestamps its row gets. */
export type ManifestInput = Pick<
  ManifestRow,
  'content_type' | 'content_path' | 'content' | 'content_digest' | 'content_length'
>

/** replaceManifests drops an artifact's manifests and stores these instead. */
export async function replaceManifests(
  db: Executor,
  artifact: Pick<ArtifactRow, 'id' | 'account_id' | 'release_id'>,
  manifests: readonly ManifestInput[],
  ts: string,
): Promise<void> {
  await db.deleteFrom('manifests').where('artifact_id', '=', artifact.id).execute()
  if (manifests.length === 0) return
  await db
    .insertInto('manifests')
    .values(
      manifests.map((m) => ({
        id: newId(),
        account_id: artifact.account_id,
        release_id: artifact.release_id,
        artifact_id: artifact.id,
        ...m,
        created_at: ts,
        updated_at: ts,
      })),
    )
    .execute()
}
