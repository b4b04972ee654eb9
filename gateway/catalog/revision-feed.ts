import type { Kysely } from 'kysely'
import pg from 'pg'
import type { Database } from './types.ts'

/** The two revisions of an account (see migrations/002-revisions.ts). */
export interface Revisions {
  /** Bumped by changes to products, packages, releases, artifacts, entitlements, engines. */
  content: number
  /** Bumped by changes to what credentials resolve to (tokens, licenses, users, policies). */
  auth: number
}

/** The PostgreSQL channel every revision bump is announced on, as `<account id> <content> <auth> <epoch ms>`. */
export const REVISION_CHANNEL = 'pkgway_revisions'
/** application_name of the LISTEN connection, so operators (and tests) can find it in pg_stat_activity. */
export const LISTENER_APPLICATION_NAME = 'pkgway-revision-listener'

export interface RevisionFeedOptions {
  db: Kysely<Database>
  /** Connection settings of the LISTEN client; absent for SQLite, which is polled. */
  listen?: pg.ClientConfig
  /** Poll interval while no listener is up (always, on SQLite), in ms. Default 1000. */
  pollMs?: number
  /** Called once per state change of the listener (up → down, down → up). */
  onListenerState?: (state: 'up' | 'down', err?: Error) => void
}

/** Told how long each notified bump took from its transaction to this instance, in seconds. */
type LagListener = (seconds: number) => void

type Listener = (accountId: string, revisions: Revisions) => void

/**
 * RevisionFeed is what one gateway instance knows of every account's revisions, kept current without a query
 * per request:
 * - writes made through this instance ({@link writeCatalog}) are observed as soon as they commit;
 * - on PostgreSQL, every bump sends NOTIFY and a dedicated connection LISTENs, so other instances learn of a
 *   write as soon as it commits; while that connection is down the feed polls once per {@link pollMs};
 * - on SQLite (other processes such as `pkgway worker` may write the same file) it polls once per second.
 * Caches key on these revisions, so a write is seen on its own instance at once and on the others within 1 s.
 */
export class RevisionFeed {
  readonly #known = new Map<string, Revisions>()
  readonly #listeners = new Set<Listener>()
  readonly #lagListeners = new Set<LagListener>()
  readonly #opts: RevisionFeedOptions
  readonly #pollMs: number
  #users = 0
  #client: pg.Client | null = null
  #pollTimer: NodeJS.Timeout | null = null
  #reconnectTimer: NodeJS.Timeout | null = null
  #stopped = true
  #polling: Promise<void> | null = null
  #generation = 0

  constructor(opts: RevisionFeedOptions) {
    this.#opts = opts
    this.#pollMs = opts.pollMs ?? 1000
  }

  /** Get returns the newest revisions known for an account, or undefined before any were seen. */
  get(accountId: string): Revisions | undefined {
    return this.#known.get(accountId)
  }

  /**
   * Generation counts the changes of any account's known revisions: while it stands, nothing this instance knows
   * of has been written (gateway/replay.ts relies on it).
   */
  get generation(): number {
    return this.#generation
  }

  /** Observe records revisions seen anywhere (a commit, a notification, a poll, a snapshot load); never goes back. */
  observe(accountId: string, revisions: Revisions): void {
    const known = this.#known.get(accountId)
    if (known && known.content >= revisions.content && known.auth >= revisions.auth) return
    const next = known
      ? { content: Math.max(known.content, revisions.content), auth: Math.max(known.auth, revisions.auth) }
      : { ...revisions }
    this.#known.set(accountId, next)
    this.#generation++
    for (const fn of this.#listeners) fn(accountId, next)
  }

  /** OnChange calls fn after every change of an account's known revisions. */
  onChange(fn: Listener): () => void {
    this.#listeners.add(fn)
    return () => this.#listeners.delete(fn)
  }

  /** OnLag calls fn with the propagation lag of every notified bump (clocks of the instances permitting). */
  onLag(fn: LagListener): () => void {
    this.#lagListeners.add(fn)
    return () => this.#lagListeners.delete(fn)
  }

  /** Whether the LISTEN connection is up (always false on SQLite). */
  get listening(): boolean {
    return this.#client !== null
  }

  /** The server process id of the LISTEN connection, or null while it is down. */
  get listenerPid(): number | null {
    return (this.#client as (pg.Client & { processID?: number }) | null)?.processID ?? null
  }

  /** Start begins listening or polling; every start needs a matching stop (several gateways may share a catalog). */
  async start(): Promise<void> {
    this.#users++
    if (this.#users > 1) return
    this.#stopped = false
    await this.poll()
    if (this.#opts.listen) await this.#connect()
    else this.#schedulePoll()
  }

  async stop(): Promise<void> {
    if (this.#users === 0) return
    this.#users--
    if (this.#users === 0) await this.close()
  }

  /** Close stops listening and polling whoever started the feed (the catalog is closing). */
  async close(): Promise<void> {
    this.#users = 0
    this.#stopped = true
    if (this.#pollTimer) clearTimeout(this.#pollTimer)
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer)
    this.#pollTimer = this.#reconnectTimer = null
    const client = this.#client
    this.#client = null
    await client?.end().catch(() => {})
    await this.#polling
  }

  /** Poll reads every account's revisions once; failures are left to the next poll. */
  poll(): Promise<void> {
    this.#polling ??= (async () => {
      try {
        const rows = await this.#opts.db.selectFrom('accounts').select(['id', 'revision', 'auth_revision']).execute()
        for (const r of rows) this.observe(r.id, { content: Number(r.revision), auth: Number(r.auth_revision) })
      } catch {
        // The catalog is unreachable: what is known stays, and the next poll tries again.
      } finally {
        this.#polling = null
      }
    })()
    return this.#polling
  }

  #schedulePoll(): void {
    if (this.#stopped || this.#pollTimer) return
    this.#pollTimer = setTimeout(async () => {
      this.#pollTimer = null
      if (this.#stopped || this.#client) return
      await this.poll()
      this.#schedulePoll()
    }, this.#pollMs)
    this.#pollTimer.unref()
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ ...this.#opts.listen, application_name: LISTENER_APPLICATION_NAME })
    const down = (err?: Error) => {
      if (this.#client !== client) return
      this.#client = null
      client.removeAllListeners()
      client.on('error', () => {})
      client.end().catch(() => {})
      this.#opts.onListenerState?.('down', err)
      this.#schedulePoll()
      this.#scheduleReconnect()
    }
    client.on('error', (err) => down(err))
    client.on('end', () => down())
    client.on('notification', (msg) => {
      const [accountId, content, auth, sentAt] = (msg.payload ?? '').split(' ')
      if (!accountId || !content || !auth) return
      this.observe(accountId, { content: Number(content), auth: Number(auth) })
      if (sentAt) for (const fn of this.#lagListeners) fn((Date.now() - Number(sentAt)) / 1000)
    })
    try {
      await client.connect()
      await client.query(`LISTEN ${REVISION_CHANNEL}`)
    } catch {
      client.removeAllListeners()
      client.on('error', () => {})
      await client.end().catch(() => {})
      this.#schedulePoll()
      this.#scheduleReconnect()
      return
    }
    if (this.#stopped) {
      await client.end().catch(() => {})
      return
    }
    const wasDown = this.#pollTimer !== null
    this.#client = client
    if (this.#pollTimer) clearTimeout(this.#pollTimer)
    this.#pollTimer = null
    // Whatever was committed while nobody listened.
    await this.poll()
    if (wasDown) this.#opts.onListenerState?.('up')
  }

  #scheduleReconnect(): void {
    if (this.#stopped || this.#reconnectTimer) return
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null
      if (!this.#stopped && !this.#client) void this.#connect()
    }, this.#pollMs)
    this.#reconnectTimer.unref()
  }
}

/** The feed of each opened catalog's query builder, so writes can report their commits (see accounts.ts). */
const feeds = new WeakMap<object, RevisionFeed>()

/** registerFeed makes writes through db report their new revisions to feed once they commit. */
export function registerFeed(db: Kysely<Database>, feed: RevisionFeed): void {
  feeds.set(db, feed)
}

export function feedOf(db: object): RevisionFeed | undefined {
  return feeds.get(db)
}
