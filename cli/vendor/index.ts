import type { Command } from 'commander'
import { artifactCommands } from './artifact.ts'
import { loginCommands } from './login.ts'
import { publishCommand } from './publish.ts'
import { releaseCommands } from './release.ts'

/**
 * The vendor CLI: `pkgway login|logout`, `pkgway release …`, `pkgway artifact upload` and `pkgway publish`, all
 * over the management API of a running gateway (see ../../../shared/spec/management-api.md §2).
 */
export function vendorCommands(program: Command) {
  loginCommands(program)
  releaseCommands(program)
  artifactCommands(program)
  publishCommand(program)
}
