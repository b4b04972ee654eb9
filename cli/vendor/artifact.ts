import { type Command, InvalidArgumentError } from 'commander'
import { act, clientFor, positiveInt, vendorCommand } from './command.ts'
import { LinesError } from './errors.ts'
import { createReporter, type Reporter } from './progress.ts'
import { describeRelease, findRelease } from './resolve.ts'
import { scoped } from './release.ts'
import type { ConnectionFlags } from './settings.ts'
import type { ApiClient } from './client.ts'
import {
  type ArtifactOptions,
  localFiles,
  oneChecksum,
  type Processed,
  type UploadedArtifact,
  uploadAll,
  waitForProcessing,
} from './upload.ts'

/** `pkgway artifact upload`: files into an existing release, in parallel, with progress. */

export interface UploadFlags extends ArtifactOptions {
  concurrency: number
  timeout: number
}

/** nonBlank rejects an empty flag value (an empty checksum would turn verification off). */
const nonBlank = (name: string) => (value: string) => {
  if (value.trim() === '') throw new InvalidArgumentError(`${name} must not be empty`)
  return value
}

/** artifactFields adds --platform, --arch, --filetype, --checksum, --concurrency and --timeout. */
export function artifactFields(command: Command): Command {
  return command
    .option('--platform <platform>', 'platform of every file, e.g. linux, darwin, win32')
    .option('--arch <arch>', 'architecture of every file, e.g. amd64, arm64')
    .option('--filetype <type>', "file type of every file (default: each file's extension, e.g. gz)")
    .option(
      '--checksum <value>',
      "checksum sent as is instead of the file's SHA-512, e.g. a hex SHA-256 (one file only)",
      nonBlank('--checksum'),
    )
    .option('--concurrency <n>', 'files uploaded at once', positiveInt('--concurrency', 1, 32), 4)
    .option('--timeout <seconds>', 'how long to wait for processing', positiveInt('--timeout', 1, 86_400), 300)
}

/**
 * awaitProcessed waits for every artifact's processing and throws, one line per artifact, when any failed (with
 * the server's reason) or is still unfinished at the timeout.
 */
export async function awaitProcessed(
  client: ApiClient,
  artifacts: UploadedArtifact[],
  timeoutSeconds: number,
  reporter: Reporter,
): Promise<void> {
  const { done, pending } = await waitForProcessing(client, artifacts, timeoutSeconds * 1000, reporter)
  reporter.stop()
  const failed: Processed[] = done.filter((p) => p.status !== 'UPLOADED')
  if (failed.length === 0 && pending.length === 0) return
  throw new LinesError([
    ...failed.map(
      (p) =>
        `${p.artifact.file.filename}: ${p.status === 'FAILED' ? 'processing failed' : `artifact is ${p.status}`}: ${p.reason ?? 'no reason given'}`,
    ),
    ...pending.map(
      (p) => `${p.artifact.file.filename}: still ${p.status} after ${timeoutSeconds}s (raise --timeout to wait longer)`,
    ),
  ])
}

export function artifactCommands(program: Command) {
  const artifact = vendorCommand(program.command('artifact')).description('upload release artifacts')

  artifactFields(
    scoped(artifact.command('upload').description('upload files into a release (checksum, size, progress)'))
      .argument('<files...>', 'files to upload')
      .requiredOption('--release <id|version|tag>', 'the release: id, version or tag'),
  )
    .option('--wait', 'wait until the gateway has processed every file; fail when any failed')
    .action(
      act(
        async (
          paths: string[],
          opts: ConnectionFlags & UploadFlags & { product: string; package?: string; release: string; wait?: boolean },
        ) => {
          const files = await localFiles(paths)
          oneChecksum(files, opts.checksum)
          const client = await clientFor(opts)
          const release = await findRelease(client, opts.release, { product: opts.product, package: opts.package })
          const reporter = createReporter(files.map((f) => f.filename))
          try {
            const uploaded = await uploadAll(client, release.id, files, opts, reporter)
            if (opts.wait) await awaitProcessed(client, uploaded, opts.timeout, reporter)
            reporter.stop()
            process.stdout.write(`release ${describeRelease(release)}: ${uploaded.length} file(s) uploaded\n`)
          } finally {
            reporter.stop()
          }
        },
      ),
    )
}
