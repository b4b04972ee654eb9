import { randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import { readLegacySigningSecret } from '../../config/load.ts'
import type { SigningKeys } from '../storage/signing-keys.ts'
import { now } from './db.ts'
import type { Database, SigningKeyRow } from './types.ts'

/**
 * The URL-signing keys kept in the catalog (table `signing_keys`), so that every instance on one database signs
 * and verifies alike without a configured `signingSecret`. The first start generates generation 1; a rotation
 * retires the current key and adds the next generation, and the retired key keeps verifying until `accept_until`.
 */

/** The longest lifetime any signed URL can have (`?ttl=` on downloads allows a week), so the default acceptance of a retired key. */
export const MAX_URL_LIFETIME_SECONDS = 604_800

/** Instances re-read the keys this often, so that all of them sign with a new key soon after a rotation. */
const REFRESH_MS = 60_000
/** A signature that matches no key makes the keys reload, at most this often (bad signatures cannot flood the catalog). */
const MIN_RELOAD_MS = 1_000

export const generateSecret = (): string => randomBytes(32).toString('hex')

/**
 * ensureSigningKey creates generation 1 unless a key exists. Instances starting together race on the primary key,
 * and all of them end up with the winner's secret. `initial` seeds it (a secret an older version kept on disk).
 */
export async function ensureSigningKey(db: Kysely<Database>, initial?: string): Promise<void> {
  const existing = await db.selectFrom('signing_keys').select('generation').limit(1).executeTakeFirst()
  if (existing) return
  await db
    .insertInto('signing_keys')
    .values({
      generation: 1,
      secret: initial ?? generateSecret(),
      created_at: now(),
      retired_at: null,
      accept_until: null,
    })
    .onConflict((oc) => oc.column('generation').doNothing())
    .execute()
}

/** listSigningKeys reads the current key and the retired ones still accepted, newest first. */
export async function listSigningKeys(db: Kysely<Database>, at = new Date()): Promise<SigningKeyRow[]> {
  const rows = await db
    .selectFrom('signing_keys')
    .selectAll()
    .where((eb) => eb.or([eb('retired_at', 'is', null), eb('accept_until', '>', at.toISOString())]))
    .orderBy('generation', 'desc')
    .execute()
  return rows.map((r) => ({ ...r, generation: Number(r.generation) }))
}

/**
 * rotateSigningKey retires the current key (accepted for `acceptForSeconds` more) and makes a new generation
 * current. Keys whose acceptance has ended are deleted. Returns the new generation.
 */
export async function rotateSigningKey(db: Kysely<Database>, acceptForSeconds: number): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const ts = new Date()
    const top = await trx
      .selectFrom('signing_keys')
      .select((eb) => eb.fn.max('generation').as('generation'))
      .executeTakeFirst()
    const generation = Number(top?.generation ?? 0) + 1
    await trx
      .updateTable('signing_keys')
      .set({
        retired_at: ts.toISOString(),
        accept_until: new Date(ts.getTime() + acceptForSeconds * 1000).toISOString(),
      })
      .where('retired_at', 'is', null)
      .execute()
    await trx.deleteFrom('signing_keys').where('accept_until', '<=', ts.toISOString()).execute()
    await trx
      .insertInto('signing_keys')
      .values({
        generation,
        secret: generateSecret(),
        created_at: ts.toISOString(),
        retired_at: null,
        accept_until: null,
      })
      .execute()
    return generation
  })
}

/**
 * CatalogSigningKeys holds the catalog's keys in memory, so signing and verifying never wait for the catalog
 * (and keep working while it is down). It re-reads them every minute and when a signature matches none.
 */
export class CatalogSigningKeys implements SigningKeys {
  #rows: SigningKeyRow[] = []
  #loadedAt = 0
  #loading: Promise<boolean> | null = null
  #timer: NodeJS.Timeout | null = null

  private constructor(
    private readonly db: Kysely<Database>,
    private readonly minReloadMs: number,
  ) {}

  /**
   * open creates the first key if there is none, and loads the keys. `initial` seeds the first key;
   * `minReloadMs` is the least time between two reloads (default 1 s).
   */
  static async open(
    db: Kysely<Database>,
    opts: { initial?: string; minReloadMs?: number } = {},
  ): Promise<CatalogSigningKeys> {
    await ensureSigningKey(db, opts.initial)
    const keys = new CatalogSigningKeys(db, opts.minReloadMs ?? MIN_RELOAD_MS)
    await keys.#load()
    return keys
  }

  current(): string {
    return this.#rows[0].secret
  }

  accepted(): readonly string[] {
    const at = new Date().toISOString()
    return this.#rows.filter((r) => r.accept_until === null || r.accept_until > at).map((r) => r.secret)
  }

  async reload(): Promise<boolean> {
    if (this.#loading) return this.#loading
    if (Date.now() - this.#loadedAt < this.minReloadMs) return false
    this.#loading = this.#load()
      .catch(() => false)
      .finally(() => {
        this.#loading = null
      })
    return this.#loading
  }

  /** startRefresh re-reads the keys periodically until {@link stopRefresh}; failures keep the keys in memory. */
  startRefresh(intervalMs = REFRESH_MS): this {
    this.stopRefresh()
    this.#timer = setInterval(() => void this.reload(), intervalMs)
    this.#timer.unref()
    return this
  }

  stopRefresh(): void {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = null
  }

  async #load(): Promise<boolean> {
    const rows = await listSigningKeys(this.db)
    this.#loadedAt = Date.now()
    if (rows.length === 0) throw new Error('the catalog has no signing key')
    const before = this.#rows.map((r) => r.generation).join(',')
    this.#rows = rows
    return rows.map((r) => r.generation).join(',') !== before
  }
}

/**
 * openSigningKeys gives a configured `signingSecret` as it is, else the catalog's keys (created on first start),
 * refreshed in the background until stopRefresh().
 */
export async function openSigningKeys(
  db: Kysely<Database>,
  config: { signingSecret?: string; dataDir: string },
): Promise<string | CatalogSigningKeys> {
  if (config.signingSecret) return config.signingSecret
  const keys = await CatalogSigningKeys.open(db, { initial: readLegacySigningSecret(config.dataDir) })
  return keys.startRefresh()
}
