import type { Kysely } from 'kysely'
import { artifactKey } from '../storage/keys.ts'
import type { Database } from './types.ts'

/** Releases per query of {@link referencedKeys}, well below every database's bound-parameter limit. */
const BATCH = 500

/**
 * referencedKeys returns the blob keys that rows of the given releases point at: each artifact's file, and the
 * content_path of OCI manifests and descriptors. `pkgway gc` deletes what is stored but not in this set.
 */
export async function referencedKeys(db: Kysely<Database>, releaseIds: readonly string[]): Promise<Set<string>> {
  const keys = new Set<string>()
  for (let i = 0; i < releaseIds.length; i += BATCH) {
    const batch = releaseIds.slice(i, i + BATCH)
    const artifacts = await db
      .selectFrom('artifacts')
      .select(['account_id', 'release_id', 'filename'])
      .where('release_id', 'in', batch)
      .execute()
    for (const a of artifacts) keys.add(artifactKey(a.account_id, a.release_id, a.filename))
    for (const table of ['manifests', 'descriptors'] as const) {
      const rows = await db
        .selectFrom(table)
        .select('content_path')
        .where('release_id', 'in', batch)
        .where('content_path', 'is not', null)
        .execute()
      for (const r of rows) keys.add(r.content_path!)
    }
  }
  return keys
}
