import { Command } from 'commander'
import { serveCommand } from './serve.ts'
import { adminCommands } from './admin.ts'
import { maintenanceCommands } from './maintenance.ts'
import { vendorCommands } from './vendor/index.ts'
import { workerCommand } from './worker.ts'

const program = new Command()
  .name('pkgway')
  .description('Package distribution gateway speaking the Keygen release-engine protocols')
  .option('-c, --config <file>', 'JSON config file (or PKGWAY_CONFIG)')
  .showHelpAfterError()

serveCommand(program)
adminCommands(program)
workerCommand(program)
maintenanceCommands(program)
vendorCommands(program)

await program.parseAsync(process.argv)
