import type { Command } from 'commander'
import { ConfigError, loadConfig } from '../config/load.ts'
import type { PkgwayConfig } from '../config/schema.ts'

/** configFor loads the configuration named by the global --config option (or PKGWAY_CONFIG). */
export function configFor(command: Command): PkgwayConfig {
  const root = command.optsWithGlobals() as { config?: string }
  return loadConfig({ file: root.config })
}

/** fail prints one line and exits non-zero; start-up errors never show a stack trace. */
export function fail(err: unknown): never {
  const message =
    err instanceof ConfigError ? err.message : err instanceof Error ? err.message : `unexpected error: ${String(err)}`
  process.stderr.write(`pkgway: ${message.split('\n')[0]}\n`)
  process.exit(1)
}

/** run wraps an action so that any error becomes a one-line message and exit code 1. */
export function run<A extends unknown[]>(action: (...args: A) => Promise<void>) {
  return async (...args: A) => {
    try {
      await action(...args)
    } catch (err) {
      fail(err)
    }
  }
}
