import { type Command, type CommanderError, InvalidArgumentError } from 'commander'
import { ApiClient, closeClients } from './client.ts'
import { EXIT_USAGE, explain } from './errors.ts'
import { type ConnectionFlags, resolveConnection } from './settings.ts'

/** Plumbing shared by the vendor commands: connection flags, exit codes, one-line errors. */

/**
 * vendorCommand configures a vendor command (and, through commander's inherited settings, the subcommands
 * added to it afterwards): usage errors exit 2 and are printed as `pkgway: …`.
 */
export function vendorCommand(command: Command): Command {
  return command
    .exitOverride((err: CommanderError) => {
      process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE)
    })
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'pkgway: ')) })
}

/** withConnection adds --host, --token and --account (they override PKGWAY_* and the login file). */
export function withConnection(command: Command): Command {
  return command
    .option('--host <url>', 'gateway URL (default: PKGWAY_URL, else the login)')
    .option('--token <token>', 'API token (default: PKGWAY_TOKEN, else the login)')
    .option('--account <slug|id>', 'use /v1/accounts/<account>/… paths (default: PKGWAY_ACCOUNT, else the login)')
}

/** client builds an API client from the command's connection flags, the environment and the login file. */
export async function clientFor(flags: ConnectionFlags): Promise<ApiClient> {
  return new ApiClient(await resolveConnection({ host: flags.host, token: flags.token, account: flags.account }))
}

/** act wraps an action: errors become `pkgway: …` lines on stderr and exit code 1 (2 for usage); no stack trace. */
export function act<A extends unknown[]>(action: (...args: A) => Promise<void>) {
  return async (...args: A) => {
    let code = 0
    try {
      await action(...args)
    } catch (err) {
      const { lines, exitCode } = explain(err)
      for (const line of lines) process.stderr.write(`pkgway: ${line}\n`)
      code = exitCode
    } finally {
      await closeClients()
    }
    process.exit(code)
  }
}

/** positiveInt parses a whole-number flag within [min, max]. */
export const positiveInt = (name: string, min: number, max: number) => (value: string) => {
  const n = Number(value)
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`)
  }
  return n
}
