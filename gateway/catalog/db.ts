import { randomUUID } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import SqliteDatabase from 'better-sqlite3'
import { Kysely, type Migration, type MigrationProvider, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely'
import pg from 'pg'
import { CatalogHealth, markCatalogError, monitored } from './health.ts'
import * as m001 from './migrations/001-initial.ts'
import * as m002 from './migrations/002-revisions.ts'
import * as m003 from './migrations/003-upload-keys.ts'
import { RevisionFeed, registerFeed } from './revision-feed.ts'
import * as m004 from './migrations/004-signing-keys.ts'
import * as m005 from './migrations/005-artifact-sha1.ts'
import type { Database } from './types.ts'

export type Dialect = 'sqlite' | 'postgres'

/** Catalog is the open database plus what callers need to know about it. */
export interface Catalog {
  readonly db: Kysely<Database>
  readonly dialect: Dialect
  /** What this process knows of every account's revisions; started by the gateway, not by one-shot commands. */
  readonly revisions: RevisionFeed
  /** Availability as last seen by queries: every change is reported once to its listeners. */
  readonly health: CatalogHealth
  /** Applies every pending migration, in order. */
  migrate(): Promise<void>
  close(): Promise<void>
}

/** CatalogError is a database failure at start (unreachable server, unwritable file), with a one-line reason. */
export class CatalogError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'CatalogError'
  }
}

const migrations: Record<string, Migration> = {
  '001-initial': m001,
  '002-revisions': m002,
  '003-upload-keys': m003,
  '004-signing-keys': m004,
  '005-artifact-sha1': m005,
}

/** A pool that cannot connect within this long fails the query (503) instead of making requests wait. */
const CONNECT_TIMEOUT_MS = 5_000
/** No catalog query takes this long when the server is healthy; a hung server must not hang requests. */
const QUERY_TIMEOUT_MS = 30_000

const provider: MigrationProvider = { getMigrations: async () => migrations }

export const newId = (): string => randomUUID()
export const now = (): string => new Date().toISOString()

const int8 = 20
// int8 columns hold counters, sizes and semver parts, all far below 2^53.
const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === int8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
}

function openSqlite(path: string, health: CatalogHealth): Kysely<Database> {
  if (path !== ':memory:') {
    try {
      mkdirSync(dirname(path), { recursive: true })
    } catch (err) {
      throw new CatalogError(`cannot create the directory of ${path}: ${(err as NodeJS.ErrnoException).code}`, {
        cause: err,
      })
    }
  }
  let database: SqliteDatabase.Database
  try {
    database = new SqliteDatabase(path)
    database.pragma('journal_mode = WAL')
    database.pragma('busy_timeout = 5000')
    database.pragma('foreign_keys = ON')
    database.pragma('synchronous = NORMAL')
  } catch (err) {
    throw new CatalogError(`cannot open SQLite database ${path}: ${(err as Error).message}`, { cause: err })
  }
  return new Kysely<Database>({ dialect: monitored(new SqliteDialect({ database }), health) })
}

/** postgresClientConfig turns `postgres://…[?schema=name]` into node-postgres settings. */
function postgresClientConfig(url: string): pg.ClientConfig {
  const parsed = new URL(url)
  const schema = parsed.searchParams.get('schema')
  parsed.searchParams.delete('schema')
  return {
    connectionString: parsed.toString(),
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    keepAlive: true,
    types: pgTypes,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  }
}

function openPostgres(url: string, health: CatalogHealth): Kysely<Database> {
  const pool = new pg.Pool({ ...postgresClientConfig(url), max: 10 })
  // An idle client that errors (server restart) must not crash the process; the next query reconnects. The
  // error is reported to health, which logs the outage once (gateway/plugins/health.ts), not once per client.
  pool.on('error', (err) => markCatalogError(health, err))
  // A client whose connection drops while checked out emits 'error' with no pool listener attached, which
  // would crash the process; its query fails on its own, so the event only needs reporting.
  pool.on('connect', (client) => client.on('error', (err) => markCatalogError(health, err)))
  return new Kysely<Database>({ dialect: monitored(new PostgresDialect({ pool }), health) })
}

/**
 * openCatalog connects to `sqlite:<path>` or `postgres://…[?schema=name]` and checks the connection,
 * so a bad URL fails at start with a {@link CatalogError} instead of at the first request.
 */
export async function openCatalog(url: string): Promise<Catalog> {
  const dialect: Dialect = url.startsWith('sqlite:') ? 'sqlite' : 'postgres'
  const health = new CatalogHealth()
  const db = dialect === 'sqlite' ? openSqlite(url.slice('sqlite:'.length), health) : openPostgres(url, health)
  const schema = dialect === 'postgres' ? (new URL(url).searchParams.get('schema') ?? undefined) : undefined
  try {
    if (dialect === 'postgres') {
      if (schema) {
        if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name ${schema}`)
        // Instances starting together race on IF NOT EXISTS; the loser's unique violation means it exists.
        await sql
          .raw(`create schema if not exists ${schema}`)
          .execute(db)
          .catch((err) => {
            if ((err as { code?: string }).code !== '23505') throw err
          })
      }
    }
    await sql`select 1`.execute(db)
  } catch (err) {
    await db.destroy().catch(() => {})
    const where = dialect === 'postgres' ? redactUrl(url) : url
    throw new CatalogError(`cannot connect to ${where}: ${(err as Error).message || (err as Error).name}`, {
      cause: err,
    })
  }
  const revisions = new RevisionFeed({ db, listen: dialect === 'postgres' ? postgresClientConfig(url) : undefined })
  registerFeed(db, revisions)
  return {
    db,
    dialect,
    revisions,
    health,
    async migrate() {
      const migrator = new Migrator({ db, provider, migrationTableSchema: schema })
      const { error, results } = await migrator.migrateToLatest()
      if (error) {
        const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown'
        throw new CatalogError(`migration ${failed} failed: ${(error as Error).message}`, { cause: error })
      }
    },
    async close() {
      await revisions.close()
      await db.destroy()
    },
  }
}

/** redactUrl drops the password from a database URL so it can appear in errors. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return 'the database'
  }
}
