import type { Command } from 'commander'
import { configFor, run } from './common.ts'

export function serveCommand(program: Command) {
  program
    .command('serve')
    .description('run the gateway (applies migrations, creates the default account on first start)')
    .option('--demo', 'seed demo products and releases into an empty default account')
    .action(
      run(async (opts: { demo?: boolean }, command: Command) => {
        const config = configFor(command)
        const { startServer } = await import('../gateway/server.ts')
        const server = await startServer(config, {
          onAdminToken: (token) => {
            process.stdout.write(
              `pkgway: created the default account; admin token (shown once, keep it safe):\n${token}\n`,
            )
          },
        })
        process.stdout.write(`pkgway: listening on ${server.url}\n`)
        if (opts.demo) {
          const { seedDemo } = await import('./demo.ts')
          const lines = await seedDemo(server.app, server, server.account)
          const host = new URL(server.url).host
          const text = lines ? lines.map((l) => l.replace('HOST', host)) : ['pkgway: demo data already present']
          process.stdout.write(`${text.join('\n')}\n`)
        }
      }),
    )

  program
    .command('migrate')
    .description('apply pending catalog migrations and exit')
    .action(
      run(async (_opts: unknown, command: Command) => {
        const config = configFor(command)
        const { openCatalog } = await import('../gateway/catalog/db.ts')
        const catalog = await openCatalog(config.databaseUrl)
        try {
          await catalog.migrate()
        } finally {
          await catalog.close()
        }
        process.stdout.write('pkgway: migrations applied\n')
      }),
    )
}
