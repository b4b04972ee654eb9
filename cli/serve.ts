import type { Command } from 'commander'
import { openCatalog } from '../gateway/catalog/db.ts'
import { startServer } from '../gateway/server.ts'
import { configFor, run } from './common.ts'

export function serveCommand(program: Command) {
  program
    .command('serve')
    .description('run the gateway (applies migrations, creates the default account on first start)')
    .action(
      run(async (_opts: unknown, command: Command) => {
        const config = configFor(command)
        const { url } = await startServer(config, {
          onAdminToken: (token) => {
            process.stdout.write(
              `pkgway: created the default account; admin token (shown once, keep it safe):\n${token}\n`,
            )
          },
        })
        process.stdout.write(`pkgway: listening on ${url}\n`)
      }),
    )

  program
    .command('migrate')
    .description('apply pending catalog migrations and exit')
    .action(
      run(async (_opts: unknown, command: Command) => {
        const config = configFor(command)
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
