import type { Kysely } from 'kysely'

/**
 * The initial catalog schema. It runs unchanged on SQLite and PostgreSQL, so it sticks to portable types:
 * ids are UUID text, timestamps are ISO 8601 UTC text (which sorts correctly as text), booleans are
 * integers 0/1 and JSON documents are text. Case-insensitive uniqueness uses a lower-cased `*_key` column.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('accounts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('slug', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('secret_key', 'text', (c) => c.notNull())
    .addColumn('revision', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('products')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('code', 'text')
    .addColumn('code_key', 'text')
    .addColumn('distribution_strategy', 'text', (c) => c.notNull().defaultTo('LICENSED'))
    .addColumn('url', 'text')
    .addColumn('platforms', 'text')
    .addColumn('metadata', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('products_code_key').on('products').columns(['account_id', 'code_key']).unique().execute()

  await db.schema
    .createTable('entitlements')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('code_key', 'text', (c) => c.notNull())
    .addColumn('metadata', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('entitlements_code_key')
    .on('entitlements')
    .columns(['account_id', 'code_key'])
    .unique()
    .execute()

  await db.schema
    .createTable('engines')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('engines_key').on('engines').columns(['account_id', 'key']).unique().execute()

  await db.schema
    .createTable('packages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('product_id', 'text', (c) => c.notNull().references('products.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('engine', 'text')
    .addColumn('metadata', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('packages_key').on('packages').columns(['account_id', 'key']).unique().execute()
  await db.schema.createIndex('packages_product').on('packages').columns(['product_id']).execute()

  await db.schema
    .createTable('releases')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('product_id', 'text', (c) => c.notNull().references('products.id').onDelete('cascade'))
    .addColumn('package_id', 'text', (c) => c.references('packages.id').onDelete('set null'))
    // package_id or '' so that uniqueness also holds for releases without a package (NULLs never collide).
    .addColumn('package_scope', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('semver_major', 'bigint', (c) => c.notNull())
    .addColumn('semver_minor', 'bigint', (c) => c.notNull())
    .addColumn('semver_patch', 'bigint', (c) => c.notNull())
    .addColumn('semver_prerelease', 'text')
    .addColumn('semver_build', 'text')
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('tag', 'text')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('DRAFT'))
    .addColumn('name', 'text')
    .addColumn('description', 'text')
    .addColumn('backdated_to', 'text')
    .addColumn('yanked_at', 'text')
    .addColumn('metadata', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('releases_version')
    .on('releases')
    .columns(['product_id', 'package_scope', 'version'])
    .unique()
    .execute()
  await db.schema
    .createIndex('releases_tag')
    .on('releases')
    .columns(['product_id', 'package_scope', 'tag'])
    .unique()
    .execute()
  await db.schema.createIndex('releases_account').on('releases').columns(['account_id', 'created_at']).execute()
  await db.schema.createIndex('releases_package').on('releases').columns(['package_id']).execute()

  await db.schema
    .createTable('release_constraints')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('release_id', 'text', (c) => c.notNull().references('releases.id').onDelete('cascade'))
    .addColumn('entitlement_id', 'text', (c) => c.notNull().references('entitlements.id').onDelete('cascade'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('release_constraints_pair')
    .on('release_constraints')
    .columns(['release_id', 'entitlement_id'])
    .unique()
    .execute()

  await db.schema
    .createTable('artifacts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('release_id', 'text', (c) => c.notNull().references('releases.id').onDelete('cascade'))
    .addColumn('filename', 'text', (c) => c.notNull())
    .addColumn('filetype', 'text')
    .addColumn('platform', 'text')
    .addColumn('arch', 'text')
    .addColumn('filesize', 'bigint')
    .addColumn('checksum', 'text')
    .addColumn('signature', 'text')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('WAITING'))
    .addColumn('status_reason', 'text')
    // Digests and size the upload worker measured on the stored bytes (null until verified).
    .addColumn('content_length', 'bigint')
    .addColumn('sha256', 'text')
    .addColumn('sha512', 'text')
    .addColumn('metadata', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('artifacts_filename')
    .on('artifacts')
    .columns(['release_id', 'filename'])
    .unique()
    .execute()
  await db.schema.createIndex('artifacts_account').on('artifacts').columns(['account_id', 'created_at']).execute()

  for (const table of ['manifests', 'descriptors'] as const) {
    let t = db.schema
      .createTable(table)
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('release_id', 'text', (c) => c.notNull().references('releases.id').onDelete('cascade'))
      .addColumn('artifact_id', 'text', (c) => c.notNull().references('artifacts.id').onDelete('cascade'))
      .addColumn('content_type', 'text', (c) => c.notNull())
      .addColumn('content_digest', 'text')
      .addColumn('content_length', 'bigint')
      .addColumn('content_path', 'text')
    if (table === 'manifests') t = t.addColumn('content', 'text', (c) => c.notNull())
    await t
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute()
    await db.schema.createIndex(`${table}_artifact`).on(table).columns(['artifact_id']).execute()
    await db.schema.createIndex(`${table}_digest`).on(table).columns(['account_id', 'content_digest']).execute()
  }

  await db.schema
    .createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('email_key', 'text', (c) => c.notNull())
    .addColumn('first_name', 'text')
    .addColumn('last_name', 'text')
    .addColumn('role', 'text', (c) => c.notNull().defaultTo('user'))
    .addColumn('password_hash', 'text')
    .addColumn('banned_at', 'text')
    .addColumn('metadata', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('users_email_key').on('users').columns(['account_id', 'email_key']).unique().execute()

  await db.schema
    .createTable('policies')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('product_id', 'text', (c) => c.notNull().references('products.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('duration', 'bigint')
    .addColumn('expiration_strategy', 'text', (c) => c.notNull().defaultTo('RESTRICT_ACCESS'))
    .addColumn('authentication_strategy', 'text', (c) => c.notNull().defaultTo('TOKEN'))
    .addColumn('metadata', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('licenses')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('policy_id', 'text', (c) => c.notNull().references('policies.id').onDelete('cascade'))
    .addColumn('product_id', 'text', (c) => c.notNull().references('products.id').onDelete('cascade'))
    .addColumn('owner_id', 'text', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('expiry', 'text')
    .addColumn('suspended', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('metadata', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('licenses_key').on('licenses').columns(['account_id', 'key']).unique().execute()

  for (const [table, left, right] of [
    ['policy_entitlements', 'policy_id', 'policies'],
    ['license_entitlements', 'license_id', 'licenses'],
  ] as const) {
    await db.schema
      .createTable(table)
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn(left, 'text', (c) => c.notNull().references(`${right}.id`).onDelete('cascade'))
      .addColumn('entitlement_id', 'text', (c) => c.notNull().references('entitlements.id').onDelete('cascade'))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute()
    await db.schema.createIndex(`${table}_pair`).on(table).columns([left, 'entitlement_id']).unique().execute()
  }

  await db.schema
    .createTable('license_users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('license_id', 'text', (c) => c.notNull().references('licenses.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('license_users_pair')
    .on('license_users')
    .columns(['license_id', 'user_id'])
    .unique()
    .execute()

  await db.schema
    .createTable('tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    // admin | product | user | license
    .addColumn('bearer_type', 'text', (c) => c.notNull())
    .addColumn('bearer_id', 'text')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    // HMAC-SHA256(account secret, raw token), hex; the raw token is never stored.
    .addColumn('digest', 'text', (c) => c.notNull().unique())
    .addColumn('expiry', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('jobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text')
    .addColumn('payload', 'text', (c) => c.notNull())
    // queued | running | done | failed
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('queued'))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (c) => c.notNull().defaultTo(5))
    .addColumn('run_at', 'text', (c) => c.notNull())
    .addColumn('locked_by', 'text')
    .addColumn('lease_until', 'text')
    .addColumn('last_error', 'text')
    .addColumn('dedupe_key', 'text', (c) => c.unique())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('jobs_ready').on('jobs').columns(['status', 'run_at']).execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'jobs',
    'tokens',
    'license_users',
    'license_entitlements',
    'policy_entitlements',
    'licenses',
    'policies',
    'users',
    'descriptors',
    'manifests',
    'artifacts',
    'release_constraints',
    'releases',
    'packages',
    'engines',
    'entitlements',
    'products',
    'accounts',
  ]) {
    await db.schema.dropTable(table).ifExists().execute()
  }
}
