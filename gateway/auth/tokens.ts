import { createHmac, randomBytes } from 'node:crypto'
import { bumpRevision, type Executor } from '../catalog/accounts.ts'
import { newId, now } from '../catalog/db.ts'
import type { AccountRow, BearerType, TokenRow } from '../catalog/types.ts'

/** Token prefixes by bearer, as Keygen's v3 format: `<prefix>-<hex>v3`. */
export const TOKEN_PREFIX: Record<BearerType, string> = {
  admin: 'admin',
  product: 'prod',
  user: 'user',
  license: 'activ',
}

export const TOKEN_KIND: Record<BearerType, string> = {
  admin: 'admin-token',
  product: 'product-token',
  user: 'user-token',
  license: 'activation-token',
}

/** digestToken is what the catalog stores: HMAC-SHA256 with the account's secret, never the raw token. */
export function digestToken(account: Pick<AccountRow, 'secret_key'>, raw: string): string {
  return createHmac('sha256', account.secret_key).update(raw).digest('hex')
}

export function generateToken(bearer: BearerType): string {
  const bytes = bearer === 'license' ? 16 : 32
  return `${TOKEN_PREFIX[bearer]}-${randomBytes(bytes).toString('hex')}v3`
}

export interface IssueTokenInput {
  bearerType: BearerType
  bearerId: string | null
  name?: string | null
  expiry?: string | null
  /** Install this value instead of generating one (bootstrap automation). */
  raw?: string
}

/** issueToken stores a new token's digest and returns the row with the raw value, shown to the caller once. */
export async function issueToken(
  db: Executor,
  account: AccountRow,
  input: IssueTokenInput,
): Promise<{ row: TokenRow; raw: string }> {
  const raw = input.raw ?? generateToken(input.bearerType)
  const ts = now()
  const row: TokenRow = {
    id: newId(),
    account_id: account.id,
    bearer_type: input.bearerType,
    bearer_id: input.bearerId,
    kind: TOKEN_KIND[input.bearerType],
    name: input.name ?? null,
    digest: digestToken(account, raw),
    expiry: input.expiry ?? null,
    created_at: ts,
    updated_at: ts,
  }
  await db.insertInto('tokens').values(row).execute()
  await bumpRevision(db, account.id)
  return { row, raw }
}

export async function findTokenByRaw(db: Executor, account: AccountRow, raw: string): Promise<TokenRow | undefined> {
  return db
    .selectFrom('tokens')
    .selectAll()
    .where('account_id', '=', account.id)
    .where('digest', '=', digestToken(account, raw))
    .executeTakeFirst()
}
