import { conflict } from '../errors.ts'

/** isUniqueViolation recognises a unique-index failure on SQLite and PostgreSQL. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string }
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
}

/**
 * insertUnique runs a write whose uniqueness was checked before; a concurrent writer that won the race
 * makes it a 409 instead of a 500.
 */
export async function insertUnique<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write()
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict('The resource conflicts with another one created concurrently')
    throw err
  }
}
