import type { Executor } from './accounts.ts'
import type { ArtifactRow } from './types.ts'

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
