import { isUuid } from '../catalog/accounts.ts'
import { badRequest } from '../errors.ts'
import { unprocessableAttr } from './jsonapi.ts'

/** Validators shared by the resources' attribute parsing. */

const RESERVED = new Set(['action', 'actions'])

/** checkAlias validates a code or key: not blank, not UUID-shaped, not reserved. */
export function checkAlias(value: unknown, attr: string): string {
  const pointer = `/data/attributes/${attr}`
  const v = value as string
  if (v.trim() === '') throw unprocessableAttr(`${attr.toUpperCase()}_BLANK`, "can't be blank", pointer)
  if (isUuid(v)) throw unprocessableAttr(`${attr.toUpperCase()}_INVALID`, 'must not be a UUID', pointer)
  if (RESERVED.has(v.toLowerCase()))
    throw unprocessableAttr(`${attr.toUpperCase()}_NOT_ALLOWED`, 'is reserved', pointer)
  return v
}

export function oneOf<T extends string>(value: unknown, allowed: readonly T[], attr: string): T {
  if (!allowed.includes(value as T)) {
    throw unprocessableAttr(
      `${attr.replace(/([A-Z])/g, '_$1').toUpperCase()}_NOT_ALLOWED`,
      `must be one of: ${allowed.join(', ')}`,
      `/data/attributes/${attr}`,
    )
  }
  return value as T
}

export function required(a: Record<string, unknown>, ...names: string[]) {
  for (const n of names)
    if (a[n] === undefined) throw badRequest('is missing', { pointer: `/data/attributes/${n}` }, 'PARAMETER_MISSING')
}
