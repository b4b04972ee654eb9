import type { Command } from 'commander'
import { artifactFields, awaitProcessed, type UploadFlags } from './artifact.ts'
import type { ApiClient, Resource } from './client.ts'
import { act, clientFor, vendorCommand } from './command.ts'
import { ApiError, CliError, explain, LinesError } from './errors.ts'
import { createReporter } from './progress.ts'
import { type CreateFlags, releaseFields, releaseInput, scoped } from './release.ts'
import { createRelease, describeRelease, findRelease, type ReleaseScope } from './resolve.ts'
import { localFiles, oneChecksum, uploadAll } from './upload.ts'

/**
 * `pkgway publish`: the whole release in one command. Drafts the release (or resumes a draft of that version),
 * uploads every file in parallel, waits for the gateway to process each one, and only then publishes. Any
 * failure leaves the release a draft, and running the same command again resumes it: files already in the draft
 * with the same checksum are kept, others are replaced.
 */

type PublishFlags = CreateFlags & UploadFlags

/** existingRelease finds the release of exactly this version, or undefined. */
async function existingRelease(client: ApiClient, version: string, scope: ReleaseScope): Promise<Resource | undefined> {
  try {
    const found = await findRelease(client, version, scope)
    // The alias also matches tags: a release *tagged* like this version is not this version.
    return found.attributes.version === version ? found : undefined
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined
    throw err
  }
}

/** updateDraft applies the descriptive flags given again to a resumed draft. */
async function updateDraft(client: ApiClient, draft: Resource, input: ReturnType<typeof releaseInput>): Promise<void> {
  const attributes: Record<string, unknown> = {}
  if (input.tag !== undefined && input.tag !== draft.attributes.tag) attributes.tag = input.tag
  if (input.name !== undefined && input.name !== draft.attributes.name) attributes.name = input.name
  if (input.description !== undefined && input.description !== draft.attributes.description) {
    attributes.description = input.description
  }
  if (input.metadata !== undefined) attributes.metadata = input.metadata
  if (Object.keys(attributes).length === 0) return
  await client.resource('PATCH', `/releases/${draft.id}`, {
    body: { data: { type: 'releases', id: draft.id, attributes } },
  })
}

export function publishCommand(program: Command) {
  artifactFields(
    releaseFields(
      scoped(
        vendorCommand(program.command('publish')).description(
          'draft a release, upload files, wait for processing, then publish (resumes an unpublished draft)',
        ),
      ).argument('<files...>', 'files to upload'),
    ),
  ).action(
    act(async (paths: string[], opts: PublishFlags) => {
      const files = await localFiles(paths)
      oneChecksum(files, opts.checksum)
      const input = releaseInput(opts)
      const scope = { product: opts.product, package: opts.package ?? '' }
      const client = await clientFor(opts)
      const reporter = createReporter(files.map((f) => f.filename))
      try {
        let release = await existingRelease(client, input.version, scope)
        const resumed = release !== undefined
        if (release) {
          const status = String(release.attributes.status)
          if (status !== 'DRAFT') {
            const state = status === 'YANKED' ? 'was published and then yanked' : 'is already published'
            throw new CliError(
              `release ${describeRelease(release)} ${state}; refusing to publish it again (use a new version)`,
            )
          }
          if (release.attributes.channel !== input.channel) {
            throw new CliError(
              `release ${describeRelease(release)} is a draft in channel ${String(release.attributes.channel)}, not ${input.channel}`,
            )
          }
          await updateDraft(client, release, input)
          reporter.line(`resuming draft: release ${describeRelease(release)}`)
          if (input.entitlements.length > 0)
            reporter.line('note: --entitlements only applies when a release is created')
        } else {
          release = await createRelease(client, { product: opts.product, package: opts.package }, input)
          reporter.line(`drafted: release ${describeRelease(release)} in channel ${input.channel}`)
        }
        const draft = release
        const stays = `release ${describeRelease(draft)} was not published; it stays a draft (run the same command again to resume)`
        try {
          const uploaded = await uploadAll(client, draft.id, files, { ...opts, replace: resumed }, reporter)
          await awaitProcessed(client, uploaded, opts.timeout, reporter)
        } catch (err) {
          reporter.stop()
          const { lines, exitCode } = explain(err)
          throw new LinesError([...lines, stays], exitCode)
        }
        const published = await client.resource('POST', `/releases/${draft.id}/actions/publish`)
        reporter.stop()
        process.stdout.write(`published: release ${describeRelease(published)}\n`)
      } finally {
        reporter.stop()
      }
    }),
  )
}
