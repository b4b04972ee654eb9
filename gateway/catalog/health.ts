import type {
  CompiledQuery,
  DatabaseConnection,
  DatabaseIntrospector,
  Dialect,
  DialectAdapter,
  Driver,
  Kysely,
  QueryCompiler,
  QueryResult,
  TransactionSettings,
} from 'kysely'
import { sql } from 'kysely'
import { NETWORK_ERROR_CODES } from '../network-errors.ts'
import type { Database } from './types.ts'

/**
 * Catalog availability: which errors mean "the database cannot be reached or cannot serve now" (as opposed to a
 * bad query or a constraint), and one state per catalog that changes only on such errors and on success. The
 * gateway answers those errors with 503 (gateway/outage.ts) and logs each state change once.
 */

export type CatalogState = 'up' | 'down'

/** Marks errors that came out of the catalog's driver, so an ECONNREFUSED of some other client is never taken for one. */
const FROM_CATALOG = Symbol('pkgway.catalog-error')

/** Network failures of a TCP client: the server is down, unreachable or went away mid-query. */
const NETWORK_CODES = new Set(NETWORK_ERROR_CODES)

/**
 * PostgreSQL SQLSTATEs of an unavailable server: class 08 (connection exception), 53 (insufficient resources:
 * disk full, out of memory, too many connections), 57P01-57P03 (admin shutdown, crash shutdown, cannot connect
 * now), 58 (system error: I/O) and 55P03 (lock not available within lock_timeout).
 * see: https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
const PG_UNAVAILABLE = /^(08|53|58)...$|^57P0[1-3]$|^55P03$/

/** node-postgres' own errors for a connection that failed, timed out or was closed under it. */
const PG_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Client was closed|Connection ended)/

/** SQLite result codes of a database that cannot serve now (locked beyond busy_timeout, disk or I/O failure). */
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|PROTOCOL|NOLFS)/

function causes(err: unknown): unknown[] {
  const out: unknown[] = []
  const walk = (e: unknown, depth: number) => {
    if (e === null || e === undefined || depth > 4 || out.includes(e)) return
    out.push(e)
    if (e instanceof AggregateError) for (const inner of e.errors) walk(inner, depth + 1)
    if (typeof e === 'object') walk((e as { cause?: unknown }).cause, depth + 1)
  }
  walk(err, 0)
  return out
}

/** looksUnavailable: the error (or one of its causes) says the database server cannot serve, whatever sent it. */
export function looksUnavailable(err: unknown): boolean {
  return causes(err).some((e) => {
    if (typeof e !== 'object' || e === null) return false
    const { code, message } = e as { code?: unknown; message?: unknown }
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || PG_UNAVAILABLE.test(code))) return true
    if (typeof code === 'string' && SQLITE_UNAVAILABLE.test(code)) return true
    return typeof message === 'string' && PG_MESSAGES.test(message)
  })
}

/** isCatalogUnavailable is true for an error of the catalog's driver that means the database cannot serve now. */
export function isCatalogUnavailable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && FROM_CATALOG in err && looksUnavailable(err)
}

/** describeFailure is a one-line reason without credentials: the error code, else the message with URLs' passwords cut. */
export function describeFailure(err: unknown): string {
  const e = (err instanceof AggregateError && err.errors.length > 0 ? err.errors[0] : err) as {
    code?: unknown
    message?: unknown
  }
  const message = typeof e?.message === 'string' ? e.message : String(err)
  const text = typeof e?.code === 'string' && !message.includes(e.code) ? `${e.code}: ${message}` : message
  return text.replace(/(\w+:\/\/[^:/@\s]*:)[^@\s]*@/g, '$1***@').split('\n')[0]
}

export type HealthListener = (state: CatalogState, reason: string | null) => void

/**
 * A catalog that failed is taken to be back only once queries have worked for this long without a failure: while
 * a server shuts down or starts, successes and failures interleave for a moment, and that is one outage, not many.
 */
export const SETTLE_MS = 1_000

/** CatalogHealth is the catalog's availability as the gateway last saw it; listeners hear each change once. */
export class CatalogHealth {
  #state: CatalogState = 'up'
  #failedAt = 0
  readonly #listeners: HealthListener[] = []

  get state(): CatalogState {
    return this.#state
  }

  /** onChange registers a listener for every later change of state. */
  onChange(listener: HealthListener): () => void {
    this.#listeners.push(listener)
    return () => {
      const i = this.#listeners.indexOf(listener)
      if (i >= 0) this.#listeners.splice(i, 1)
    }
  }

  /** failed records an error of the driver; only an unavailability error changes the state. */
  failed(err: unknown): void {
    if (!looksUnavailable(err)) return
    this.#failedAt = Date.now()
    if (this.#state === 'down') return
    this.#set('down', describeFailure(err))
  }

  /** succeeded records a query that worked; after an outage, the catalog is up once no query failed for {@link SETTLE_MS}. */
  succeeded(): void {
    if (this.#state === 'up' || Date.now() - this.#failedAt < SETTLE_MS) return
    this.#set('up', null)
  }

  #set(state: CatalogState, reason: string | null) {
    this.#state = state
    for (const listener of [...this.#listeners]) {
      try {
        listener(state, reason)
      } catch {
        // A listener's failure must not fail the query that reported the change.
      }
    }
  }
}

/** tag marks an error as the catalog's and reports it to health; it returns the same error. */
function tag(health: CatalogHealth, err: unknown): unknown {
  if (typeof err === 'object' && err !== null && !(FROM_CATALOG in err)) {
    Object.defineProperty(err, FROM_CATALOG, { value: true, enumerable: false })
  }
  health.failed(err)
  return err
}

/** Connections handed out by {@link MonitoredDriver}; `inner` is what the wrapped driver gave. */
class MonitoredConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    private readonly health: CatalogHealth,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    try {
      const result = await this.inner.executeQuery<R>(query)
      this.health.succeeded()
      return result
    } catch (err) {
      throw tag(this.health, err)
    }
  }

  async *streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    try {
      yield* this.inner.streamQuery<R>(query, chunkSize)
    } catch (err) {
      throw tag(this.health, err)
    }
  }
}

const unwrap = (c: DatabaseConnection): DatabaseConnection => (c instanceof MonitoredConnection ? c.inner : c)

/** MonitoredDriver passes every call to the dialect's driver, tagging its errors and reporting them to health. */
class MonitoredDriver implements Driver {
  constructor(
    private readonly inner: Driver,
    private readonly health: CatalogHealth,
  ) {}

  async #run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      throw tag(this.health, err)
    }
  }

  init = () => this.#run(() => this.inner.init())
  // Acquiring is no sign of health (the pool may hand out an idle client of a server that went away); only a
  // query that worked is.
  acquireConnection = () =>
    this.#run(async () => new MonitoredConnection(await this.inner.acquireConnection(), this.health))
  beginTransaction = (c: DatabaseConnection, settings: TransactionSettings) =>
    this.#run(() => this.inner.beginTransaction(unwrap(c), settings))
  commitTransaction = (c: DatabaseConnection) => this.#run(() => this.inner.commitTransaction(unwrap(c)))
  rollbackTransaction = (c: DatabaseConnection) => this.#run(() => this.inner.rollbackTransaction(unwrap(c)))
  savepoint = (c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']) =>
    this.#run(() => this.inner.savepoint!(unwrap(c), name, compile))
  rollbackToSavepoint = (c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']) =>
    this.#run(() => this.inner.rollbackToSavepoint!(unwrap(c), name, compile))
  releaseSavepoint = (c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']) =>
    this.#run(() => this.inner.releaseSavepoint!(unwrap(c), name, compile))
  releaseConnection = (c: DatabaseConnection) => this.inner.releaseConnection(unwrap(c))
  destroy = () => this.inner.destroy()
}

/** monitored wraps a dialect so that its driver reports to health and tags its errors as the catalog's. */
export function monitored(dialect: Dialect, health: CatalogHealth): Dialect {
  return {
    createDriver: () => new MonitoredDriver(dialect.createDriver(), health),
    createQueryCompiler: (): QueryCompiler => dialect.createQueryCompiler(),
    createAdapter: (): DialectAdapter => dialect.createAdapter(),
    createIntrospector: (db: Kysely<unknown>): DatabaseIntrospector => dialect.createIntrospector(db),
  }
}

/** markCatalogError tags an error raised outside the driver (the pool's idle-client errors) as the catalog's. */
export function markCatalogError(health: CatalogHealth, err: unknown): void {
  tag(health, err)
}

/** The part of a pino logger {@link watchCatalogHealth} writes to. */
export interface HealthLogger {
  warn(obj: object, msg: string): void
  info(obj: object, msg: string): void
}

/**
 * watchCatalogHealth logs each change of the catalog's availability once: a warning when it becomes unavailable
 * (with a reason free of credentials), an info line when it answers again. It returns the unsubscribe function.
 */
export function watchCatalogHealth(catalog: { dialect: string; health: CatalogHealth }, log: HealthLogger): () => void {
  return catalog.health.onChange((state, reason) => {
    if (state === 'down') log.warn({ catalog: catalog.dialect, reason }, 'catalog unavailable')
    else log.info({ catalog: catalog.dialect }, 'catalog available again')
  })
}

/** pingCatalog runs the trivial query readiness checks with. */
export async function pingCatalog(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db)
}
