import type { Kysely } from 'kysely'

/**
 * Splits the account revision in two, so that a change to credentials (tokens, licenses, users, policies) does
 * not flush rendered pages, and a new release does not flush resolved credentials:
 * - `revision` now counts content changes (products, packages, releases, artifacts, entitlements, engines);
 * - `auth_revision` counts changes to what credentials resolve to.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('accounts')
    .addColumn('auth_revision', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('accounts').dropColumn('auth_revision').execute()
}
