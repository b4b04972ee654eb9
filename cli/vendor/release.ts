import { type Command, Option } from 'commander'
import { act, clientFor, vendorCommand, withConnection } from './command.ts'
import {
  CHANNELS,
  type Channel,
  channelFor,
  checkVersion,
  createRelease,
  describeRelease,
  findRelease,
  parseMetadata,
  splitList,
} from './resolve.ts'
import type { ConnectionFlags } from './settings.ts'

/** `pkgway release create|publish|yank|delete|tag|untag`: the release lifecycle, one call each. */

interface ScopeFlags extends ConnectionFlags {
  product: string
  package?: string
}

interface ReleaseFlags extends ScopeFlags {
  release: string
}

export interface CreateFlags extends ScopeFlags {
  version: string
  channel?: Channel
  tag?: string
  name?: string
  description?: string
  entitlements?: string
  metadata?: string
}

/** scoped adds --product (required) and --package. */
export function scoped(command: Command): Command {
  return withConnection(command)
    .requiredOption('--product <id|code>', 'product id or code')
    .option('--package <id|key>', 'package id or key')
}

/** releaseFields adds the flags that describe a new release. */
export function releaseFields(command: Command): Command {
  return command
    .requiredOption('--version <version>', 'semantic version, e.g. 1.2.3 or 1.3.0-beta.1')
    .addOption(
      new Option(
        '--channel <channel>',
        'release channel (default: from the prerelease, beta.1 → beta; none → stable)',
      ).choices(CHANNELS),
    )
    .option('--tag <tag>', 'tag, e.g. latest (unique within the product and package)')
    .option('--name <name>', 'display name')
    .option('--description <text>', 'release notes')
    .option('--entitlements <codes>', 'comma-separated entitlement codes or ids the release requires')
    .option('--metadata <json>', 'JSON object of metadata')
}

/** releaseInput checks the flags of a new release before any request. */
export function releaseInput(opts: CreateFlags) {
  const version = checkVersion(opts.version).version
  return {
    version,
    channel: opts.channel ?? channelFor(version),
    tag: opts.tag,
    name: opts.name,
    description: opts.description,
    metadata: parseMetadata(opts.metadata),
    entitlements: splitList(opts.entitlements),
  }
}

const scopeOf = (opts: ScopeFlags) => ({ product: opts.product, package: opts.package })

export function releaseCommands(program: Command) {
  const release = vendorCommand(program.command('release')).description('create and manage releases')

  releaseFields(scoped(release.command('create').description('draft a release'))).action(
    act(async (opts: CreateFlags) => {
      const input = releaseInput(opts)
      const client = await clientFor(opts)
      const created = await createRelease(client, scopeOf(opts), input)
      process.stdout.write(`drafted: release ${describeRelease(created)} in channel ${input.channel}\n`)
    }),
  )

  const lifecycle = (name: string, description: string) =>
    scoped(release.command(name).description(description)).requiredOption(
      '--release <id|version|tag>',
      'the release: id, version or tag',
    )

  lifecycle('publish', 'publish a release').action(
    act(async (opts: ReleaseFlags) => {
      const client = await clientFor(opts)
      const found = await findRelease(client, opts.release, scopeOf(opts))
      const done = await client.resource('POST', `/releases/${found.id}/actions/publish`)
      process.stdout.write(`published: release ${describeRelease(done)}\n`)
    }),
  )

  lifecycle('yank', 'yank a release (hidden from licensees, artifacts no longer downloadable)').action(
    act(async (opts: ReleaseFlags) => {
      const client = await clientFor(opts)
      const found = await findRelease(client, opts.release, scopeOf(opts))
      const done = await client.resource('POST', `/releases/${found.id}/actions/yank`)
      process.stdout.write(`yanked: release ${describeRelease(done)}\n`)
    }),
  )

  lifecycle('delete', 'delete a release and its artifacts').action(
    act(async (opts: ReleaseFlags) => {
      const client = await clientFor(opts)
      const found = await findRelease(client, opts.release, scopeOf(opts))
      await client.call('DELETE', `/releases/${found.id}`)
      process.stdout.write(`deleted: release ${describeRelease(found)}\n`)
    }),
  )

  lifecycle('tag', 'tag a release (e.g. latest)')
    .argument('<tag>', 'the tag')
    .action(
      act(async (tag: string, opts: ReleaseFlags) => {
        const client = await clientFor(opts)
        const found = await findRelease(client, opts.release, scopeOf(opts))
        const done = await client.resource('PATCH', `/releases/${found.id}`, {
          body: { data: { type: 'releases', id: found.id, attributes: { tag } } },
        })
        process.stdout.write(`tagged: release ${describeRelease(done)} as ${String(done.attributes.tag)}\n`)
      }),
    )

  lifecycle('untag', "remove a release's tag").action(
    act(async (opts: ReleaseFlags) => {
      const client = await clientFor(opts)
      const found = await findRelease(client, opts.release, scopeOf(opts))
      const done = await client.resource('PATCH', `/releases/${found.id}`, {
        body: { data: { type: 'releases', id: found.id, attributes: { tag: null } } },
      })
      process.stdout.write(`untagged: release ${describeRelease(done)}\n`)
    }),
  )
}
