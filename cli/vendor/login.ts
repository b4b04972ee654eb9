import type { Command } from 'commander'
import { ApiClient } from './client.ts'
import { act, vendorCommand, withConnection } from './command.ts'
import { configPath, type ConnectionFlags, loginInput, removeLogin, writeLogin } from './settings.ts'
import type { Resource } from './client.ts'

/** whoIs names the bearer GET /v1/me returned. */
function whoIs(me: Resource): string {
  const a = me.attributes
  switch (me.type) {
    case 'products':
      return `product ${String(a.name ?? a.code ?? me.id)} (${me.id})`
    case 'users':
      return `user ${String(a.email ?? me.id)}${a.role ? ` (${String(a.role)})` : ''}`
    case 'tokens':
      return `${String(a.kind ?? '')} token ${me.id}`.trim()
    case 'licenses':
      return `license ${me.id}`
    default:
      return `${me.type} ${me.id}`
  }
}

export function loginCommands(program: Command) {
  withConnection(
    vendorCommand(program.command('login')).description(
      'check a token against a gateway and remember both (in $PKGWAY_CLI_CONFIG or ~/.config/pkgway/cli.json)',
    ),
  ).action(
    act(async (opts: ConnectionFlags) => {
      const connection = loginInput(opts)
      const me = await new ApiClient(connection).resource('GET', '/me')
      const path = configPath()
      await writeLogin(connection, path)
      const where = connection.account ? `${connection.host} (account ${connection.account})` : connection.host
      process.stdout.write(`logged in to ${where} as ${whoIs(me)}\nsaved to ${path}\n`)
    }),
  )

  vendorCommand(program.command('logout'))
    .description('forget the stored login (the token itself stays valid)')
    .action(
      act(async () => {
        const path = configPath()
        process.stdout.write(
          (await removeLogin(path)) ? `logged out: removed ${path}\n` : `not logged in (no ${path})\n`,
        )
      }),
    )
}
