import type { Kysely } from 'kysely'

/**
 * Write-once artifacts: `upload_key` is where the artifact's one upload attempt lives until the worker has verified
 * it and copied it to the served key; null once promoted. Rows from before this migration keep null: their bytes
 * were uploaded straight to the served key.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('artifacts').addColumn('upload_key', 'text').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('artifacts').dropColumn('upload_key').execute()
}
