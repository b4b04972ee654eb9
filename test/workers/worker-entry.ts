/**
 * Runs `pkgway worker` the way cli/main.ts would (tests spawn this file: node --import tsx worker-entry.ts worker).
 * Kept separate from cli/main.ts so the worker tests do not depend on how the lead wires the command in.
 */
import { Command } from 'commander'
import { workerCommand } from '../../cli/worker.ts'

const program = new Command().name('pkgway').option('-c, --config <file>', 'JSON config file')
workerCommand(program)
await program.parseAsync(process.argv)
