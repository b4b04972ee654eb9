import { createHmac, randomBytes } from 'node:crypto'
import { accountSecret, type Executor } from '../catalog/accounts.ts'
import { findTokenByDigest } from '../catalog/credentials.ts'
import { newId, now } from '../catalog/db.ts'
import { insertToken } from '../catalog/tokens.ts'
import type { Account, BearerType, TokenRow } from '../catalog/types.ts'

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
export function digestToken(secret: string, raw: string): string {
  return createHmac('sha256', secret).update(raw).digest('hex')
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
  account: Pick<Account, 'id'>,
  input: IssueTokenInput,
): Promise<{ row: TokenRow; raw: string }> {
  const secret = await accountSecret(db, account.id)
  if (secret === undefined) throw new Error(`account ${account.id} does not exist`)
  const raw = input.raw ?? generateToken(input.bearerType)
  const ts = now()
  const row: TokenRow = {
    id: newId(),
    account_id: account.id,
    bearer_type: input.bearerType,
    bearer_id: input.bearerId,
    kind: TOKEN_KIND[input.bearerType],
    name: input.name ?? null,
    digest: digestToken(secret, raw),
    expiry: input.expiry ?? null,
    created_at: ts,
    updated_at: ts,
  }
  // No revision bump: a new random token cannot be in any cache, so nothing needs to be invalidated.
  await insertToken(db, row)
  return { row, raw }
}

/** findTokenByRaw looks a raw token up in an account (one query for the secret, one for the token). */
export async function findTokenByRaw(
  db: Executor,
  account: Pick<Account, 'id'>,
  raw: string,
): Promise<TokenRow | undefined> {
  const secret = await accountSecret(db, account.id)
  return secret === undefined ? undefined : findTokenByDigest(db, account.id, digestToken(secret, raw))
}
