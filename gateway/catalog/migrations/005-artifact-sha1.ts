import type { Kysely } from 'kysely'

/**
 * `artifacts.sha1`: the hex SHA-1 of an artifact's verified bytes, measured by the upload worker like sha256 and
 * sha512 (npm's `dist.shasum`). Rows verified before this migration keep null.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('artifacts').addColumn('sha1', 'text').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('artifacts').dropColumn('sha1').execute()
}
