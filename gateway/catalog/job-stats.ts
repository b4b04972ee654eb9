import type { Kysely } from 'kysely'
import type { Database, JobStatus } from './types.ts'

export interface JobQueueStat {
  kind: string
  status: Extract<JobStatus, 'queued' | 'running'>
  count: number
  /** Queued: seconds since the oldest due job became due. Running: seconds since the oldest claim. Null when none. */
  oldestSeconds: number | null
}

/** jobQueueStats summarises the job queue per kind and status, for the metrics (three small grouped queries). */
export async function jobQueueStats(db: Kysely<Database>, at: Date): Promise<JobQueueStat[]> {
  const ts = at.toISOString()
  const counts = await db
    .selectFrom('jobs')
    .select(['kind', 'status', (eb) => eb.fn.countAll<number | string>().as('n')])
    .where('status', 'in', ['queued', 'running'])
    .groupBy(['kind', 'status'])
    .execute()
  const dueSince = await db
    .selectFrom('jobs')
    .select(['kind', (eb) => eb.fn.min('run_at').as('oldest')])
    .where('status', '=', 'queued')
    .where('run_at', '<=', ts)
    .groupBy('kind')
    .execute()
  const claimedSince = await db
    .selectFrom('jobs')
    .select(['kind', (eb) => eb.fn.min('updated_at').as('oldest')])
    .where('status', '=', 'running')
    .groupBy('kind')
    .execute()
  const age = (iso: string | null | undefined) => (iso ? Math.max(0, (at.getTime() - Date.parse(iso)) / 1000) : null)
  return counts.map((c) => {
    const status = c.status as JobQueueStat['status']
    const oldest = (status === 'queued' ? dueSince : claimedSince).find((r) => r.kind === c.kind)?.oldest
    return { kind: c.kind, status, count: Number(c.n), oldestSeconds: age(oldest as string | null | undefined) }
  })
}
