import type { Kysely } from 'kysely'

/**
 * The secrets of gateway-signed URLs, kept in the catalog so that every instance on the same database signs and
 * verifies with the same key (see ../signing-keys.ts). `generation` orders them: the highest one signs; a key
 * replaced by a rotation gets `retired_at` and keeps verifying until `accept_until`, when the URLs it signed
 * have expired.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('signing_keys')
    .addColumn('generation', 'integer', (c) => c.primaryKey())
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('retired_at', 'text')
    .addColumn('accept_until', 'text')
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('signing_keys').ifExists().execute()
}
