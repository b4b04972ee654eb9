import { type Kysely, PostgresAdapter } from 'kysely'
import type { Executor } from './accounts.ts'
import type { Revisions } from './revision-feed.ts'
import type {
  ArtifactRow,
  Database,
  EngineRow,
  EntitlementRow,
  ManifestRow,
  PackageRow,
  ProductRow,
  ReleaseRow,
} from './types.ts'

/** Everything engines and the API read about an account's content, as of one content revision. */
export interface AccountRows {
  revisions: Revisions
  products: ProductRow[]
  packages: PackageRow[]
  entitlements: EntitlementRow[]
  engines: EngineRow[]
  releases: ReleaseRow[]
  constraints: { release_id: string; entitlement_id: string }[]
  artifacts: ArtifactRow[]
}

/**
 * loadAccountRows reads an account's whole content catalog in one transaction (repeatable read on PostgreSQL),
 * revisions first, so the rows are never older than the revision they are labelled with. Rows are ordered
 * oldest first, which is what "the first wins" lookups by alias rely on. Manifests are read on demand
 * ({@link loadManifests}): they can be large.
 */
export async function loadAccountRows(db: Kysely<Database>, accountId: string): Promise<AccountRows | undefined> {
  const isPostgres = db.getExecutor().adapter instanceof PostgresAdapter
  const begin = isPostgres ? db.transaction().setIsolationLevel('repeatable read') : db.transaction()
  return begin.execute(async (trx) => {
    const account = await trx
      .selectFrom('accounts')
      .select(['revision', 'auth_revision'])
      .where('id', '=', accountId)
      .executeTakeFirst()
    if (!account) return undefined
    const [products, packages, entitlements, engines, releases, constraints, artifacts] = await Promise.all([
      trx
        .selectFrom('products')
        .selectAll()
        .where('account_id', '=', accountId)
        .orderBy('created_at')
        .orderBy('id')
        .execute(),
      trx
        .selectFrom('packages')
        .selectAll()
        .where('account_id', '=', accountId)
        .orderBy('created_at')
        .orderBy('id')
        .execute(),
      trx
        .selectFrom('entitlements')
        .selectAll()
        .where('account_id', '=', accountId)
        .orderBy('created_at')
        .orderBy('id')
        .execute(),
      trx
        .selectFrom('engines')
        .selectAll()
        .where('account_id', '=', accountId)
        .orderBy('created_at')
        .orderBy('id')
        .execute(),
      trx
        .selectFrom('releases')
        .selectAll()
        .where('account_id', '=', accountId)
        .orderBy('created_at')
        .orderBy('id')
        .execute(),
      trx
        .selectFrom('release_constraints')
        .select(['release_id', 'entitlement_id'])
        .where('account_id', '=', accountId)
        .orderBy('created_at')
        .orderBy('id')
        .execute(),
      trx
        .selectFrom('artifacts')
        .selectAll()
        .where('account_id', '=', accountId)
        .orderBy('created_at')
        .orderBy('id')
        .execute(),
    ])
    return {
      revisions: { content: Number(account.revision), auth: Number(account.auth_revision) },
      products,
      packages,
      entitlements,
      engines,
      releases,
      constraints,
      artifacts,
    }
  })
}

/** loadManifests reads the manifests of artifacts (optionally of one content type), oldest first. */
export async function loadManifests(
  db: Executor,
  accountId: string,
  artifactIds: readonly string[],
  contentType?: string,
): Promise<ManifestRow[]> {
  const out: ManifestRow[] = []
  for (let i = 0; i < artifactIds.length; i += 500) {
    let q = db
      .selectFrom('manifests')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('artifact_id', 'in', artifactIds.slice(i, i + 500))
    if (contentType !== undefined) q = q.where('content_type', '=', contentType)
    out.push(...(await q.orderBy('created_at').orderBy('id').execute()))
  }
  return out
}
