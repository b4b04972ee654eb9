import type { SelectQueryBuilder } from 'kysely'
import type { Executor } from './accounts.ts'
import type { ArtifactRow, Database, DistributionStrategy, ReleaseRow } from './types.ts'

/** The facts about a release that authorization needs (see auth/policy.ts ReleaseFacts). */
export interface ReleaseFactsShape {
  productId: string
  strategy: DistributionStrategy
  status: ReleaseRow['status']
  constraintIds: string[]
  createdAt: string
  backdatedTo: string | null
}

export interface LoadedRelease {
  row: ReleaseRow
  facts: ReleaseFactsShape
}

type ReleaseQuery = SelectQueryBuilder<
  Database,
  'releases' | 'products',
  ReleaseRow & { strategy: DistributionStrategy }
>

/**
 * loadReleases reads releases of an account together with their product's distribution strategy and their
 * entitlement constraints, in two queries, ready for the pure policy functions.
 */
export async function loadReleases(
  db: Executor,
  accountId: string,
  narrow: (q: ReleaseQuery) => ReleaseQuery = (q) => q,
): Promise<LoadedRelease[]> {
  const base = db
    .selectFrom('releases')
    .innerJoin('products', 'products.id', 'releases.product_id')
    .selectAll('releases')
    .select('products.distribution_strategy as strategy')
    .where('releases.account_id', '=', accountId) as unknown as ReleaseQuery
  const rows = await narrow(base).execute()
  const constraints = await constraintsOf(
    db,
    rows.map((r) => r.id),
  )
  return rows.map(({ strategy, ...row }) => ({
    row: row as ReleaseRow,
    facts: {
      productId: row.product_id,
      strategy,
      status: row.status,
      constraintIds: constraints.get(row.id) ?? [],
      createdAt: row.created_at,
      backdatedTo: row.backdated_to,
    },
  }))
}

/** constraintsOf maps release ids to the entitlement ids constraining them. */
export async function constraintsOf(db: Executor, releaseIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>()
  for (let i = 0; i < releaseIds.length; i += 500) {
    const chunk = releaseIds.slice(i, i + 500)
    if (chunk.length === 0) break
    const rows = await db
      .selectFrom('release_constraints')
      .select(['release_id', 'entitlement_id'])
      .where('release_id', 'in', chunk)
      .execute()
    for (const r of rows) out.set(r.release_id, [...(out.get(r.release_id) ?? []), r.entitlement_id])
  }
  return out
}

/** artifactsOf loads the artifacts of the given releases, grouped by release id. */
export async function artifactsOf(db: Executor, releaseIds: string[]): Promise<Map<string, ArtifactRow[]>> {
  const out = new Map<string, ArtifactRow[]>()
  for (let i = 0; i < releaseIds.length; i += 500) {
    const chunk = releaseIds.slice(i, i + 500)
    if (chunk.length === 0) break
    const rows = await db.selectFrom('artifacts').selectAll().where('release_id', 'in', chunk).execute()
    for (const r of rows) out.set(r.release_id, [...(out.get(r.release_id) ?? []), r])
  }
  return out
}
