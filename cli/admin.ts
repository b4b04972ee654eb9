import { type Command, Option } from 'commander'
import { issueToken } from '../gateway/auth/tokens.ts'
import { createAccount, findAccount, SLUG } from '../gateway/catalog/accounts.ts'
import { openCatalog } from '../gateway/catalog/db.ts'
import { productIdByIdOrCode } from '../gateway/catalog/products.ts'
import type { PkgwayConfig } from '../config/schema.ts'
import { configFor, run } from './common.ts'

async function withCatalog<T>(
  config: PkgwayConfig,
  fn: (catalog: Awaited<ReturnType<typeof openCatalog>>) => Promise<T>,
) {
  const catalog = await openCatalog(config.databaseUrl)
  try {
    await catalog.migrate()
    return await fn(catalog)
  } finally {
    await catalog.close()
  }
}

export function adminCommands(program: Command) {
  const account = program.command('account').description('manage accounts')
  account
    .command('create <slug>')
    .description('create an account and an admin token for it')
    .option('--name <name>', 'display name')
    .option('--json', 'print {"account":{"id","slug"},"token":"…"}')
    .action(
      run(async (slug: string, opts: { name?: string; json?: boolean }, command: Command) => {
        if (!SLUG.test(slug) || slug.length > 255) {
          throw new Error(`invalid slug ${JSON.stringify(slug)}: use lower-case letters, digits and dashes`)
        }
        const result = await withCatalog(configFor(command), async ({ db }) =>
          db.transaction().execute(async (trx) => {
            if (await findAccount(trx, slug)) throw new Error(`account ${slug} already exists`)
            const row = await createAccount(trx, slug, opts.name ?? slug)
            const { raw } = await issueToken(trx, row, { bearerType: 'admin', bearerId: null, name: 'created by cli' })
            return { account: { id: row.id, slug: row.slug }, token: raw }
          }),
        )
        if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`)
        else
          process.stdout.write(`account ${result.account.slug} (${result.account.id})\nadmin token: ${result.token}\n`)
      }),
    )

  const token = program.command('token').description('manage API tokens')
  token
    .command('create')
    .description('create an admin token, or a product token for --product')
    .requiredOption('--account <slug>', 'account slug or id')
    .addOption(new Option('--kind <kind>', 'token kind').choices(['admin', 'product']).default('admin'))
    .option('--product <id>', 'product id or code (for --kind product)')
    .option('--name <name>', 'token name')
    .option('--json', 'print {"token":{"id","kind"},"value":"…"}')
    .action(
      run(
        async (
          opts: { account: string; kind: 'admin' | 'product'; product?: string; name?: string; json?: boolean },
          command: Command,
        ) => {
          const result = await withCatalog(configFor(command), async ({ db }) =>
            db.transaction().execute(async (trx) => {
              const acct = await findAccount(trx, opts.account)
              if (!acct) throw new Error(`account ${opts.account} not found`)
              let bearerId: string | null = null
              if (opts.kind === 'product') {
                if (!opts.product) throw new Error('--product is required for a product token')
                const product = await productIdByIdOrCode(trx, acct.id, opts.product)
                if (!product) throw new Error(`product ${opts.product} not found in account ${acct.slug}`)
                bearerId = product.id
              }
              const { row, raw } = await issueToken(trx, acct, { bearerType: opts.kind, bearerId, name: opts.name })
              return { token: { id: row.id, kind: row.kind }, value: raw }
            }),
          )
          if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`)
          else process.stdout.write(`${result.value}\n`)
        },
      ),
    )
}
