import { issueToken, findTokenByRaw } from '../auth/tokens.ts'
import { createAccount, findAccount, firstAccount } from './accounts.ts'
import type { Catalog } from './db.ts'
import type { Account } from './types.ts'

export const DEFAULT_ACCOUNT_SLUG = 'default'

export interface BootstrapResult {
  account: Account
  /** The admin token created on this start, to be shown once; null when nothing new was created. */
  createdToken: string | null
}

/**
 * bootstrap makes sure the default account exists. On an empty catalog it creates the account and an admin
 * token. A configured bootstrap token is installed idempotently instead of a generated one.
 */
export async function bootstrap(catalog: Catalog, bootstrapToken?: string): Promise<BootstrapResult> {
  try {
    return await bootstrapOnce(catalog, bootstrapToken)
  } catch (err) {
    // Instances started together on an empty catalog race to create the account (or the token): the loser
    // finds the winner's on a second try.
    const code = (err as { code?: string }).code
    if (code !== '23505' && !code?.startsWith('SQLITE_CONSTRAINT')) throw err
    return bootstrapOnce(catalog, bootstrapToken)
  }
}

function bootstrapOnce(catalog: Catalog, bootstrapToken?: string): Promise<BootstrapResult> {
  return catalog.db.transaction().execute(async (trx) => {
    let account = (await findAccount(trx, DEFAULT_ACCOUNT_SLUG)) ?? (await firstAccount(trx))
    const fresh = !account
    if (!account) account = await createAccount(trx, DEFAULT_ACCOUNT_SLUG, 'Default')
    if (bootstrapToken) {
      if (!(await findTokenByRaw(trx, account, bootstrapToken))) {
        await issueToken(trx, account, { bearerType: 'admin', bearerId: null, name: 'bootstrap', raw: bootstrapToken })
      }
      return { account, createdToken: null }
    }
    if (!fresh) return { account, createdToken: null }
    const { raw } = await issueToken(trx, account, { bearerType: 'admin', bearerId: null, name: 'bootstrap' })
    return { account, createdToken: raw }
  })
}
