/** Debian packages the bench installs on demand (wrk, umoci, docker-registry, skopeo), as root or through sudo. */
import { spawnSync } from 'node:child_process'

/** has tells whether cmd runs (with args, `--version` by default) at all. */
export const has = (cmd: string, args = ['--version']): boolean =>
  spawnSync(cmd, args, { stdio: 'ignore' }).error === undefined

/** apt runs `apt-get <args>` as root, or through `sudo -n` otherwise; true when it succeeded. */
function apt(args: string[]): boolean {
  const root = process.getuid?.() === 0
  const [cmd, argv] = root ? ['apt-get', args] : ['sudo', ['-n', 'apt-get', ...args]]
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  return spawnSync(cmd, argv, { stdio: ['ignore', 'inherit', 'inherit'], env }).status === 0
}

/**
 * ensureDebianPackage installs the Debian package pkg when command is missing (once more after `apt-get update`
 * when the package lists are stale), and fails with the command to run by hand otherwise.
 */
export function ensureDebianPackage(pkg: string, command: string, args?: string[]): void {
  if (has(command, args)) return
  process.stderr.write(`bench: ${command} is missing; installing the Debian package ${pkg}\n`)
  const install = ['install', '-y', '--no-install-recommends', pkg]
  if (!apt(install) && !(apt(['update']) && apt(install))) {
    throw new Error(`${command} is not installed and could not be: apt-get install ${pkg}`)
  }
  if (!has(command, args)) throw new Error(`${command} is still missing after apt-get install ${pkg}`)
}
