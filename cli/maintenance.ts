import type { Command } from 'commander'
import { configFor, run } from './common.ts'

/** Reads a whole number of seconds between 0 and one week. */
function seconds(value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value) || n > 604_800) throw new Error(`--accept-for must be 0..604800 seconds (got ${value})`)
  return n
}

/** openForMaintenance opens and migrates the catalog and builds the configured blob store (modules load on use). */
async function openForMaintenance(command: Command) {
  const config = configFor(command)
  const [{ openCatalog }, { openSigningKeys }, { createBlobStore }] = await Promise.all([
    import('../gateway/catalog/db.ts'),
    import('../gateway/catalog/signing-keys.ts'),
    import('../gateway/storage/index.ts'),
  ])
  const catalog = await openCatalog(config.databaseUrl)
  try {
    await catalog.migrate()
    const signing = await openSigningKeys(catalog.db, config)
    if (typeof signing !== 'string') signing.stopRefresh()
    return { config, catalog, blobs: await createBlobStore(config, signing) }
  } catch (err) {
    await catalog.close()
    throw err
  }
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`

/**
 * Operator commands that keep storage and keys tidy: `pkgway gc` removes objects no catalog row points at, and
 * `pkgway signing-key rotate` replaces the URL-signing key kept in the catalog.
 */
export function maintenanceCommands(program: Command) {
  program
    .command('gc')
    .description('list stored objects no artifact points at; delete them with --yes')
    .option('--yes', 'delete them (without it, only report what would be deleted)')
    .action(
      run(async (opts: { yes?: boolean }, command: Command) => {
        const { catalog, blobs } = await openForMaintenance(command)
        const { collectGarbage } = await import('../gateway/storage/gc.ts')
        try {
          const verb = opts.yes ? 'deleting' : 'would delete'
          const result = await collectGarbage(catalog.db, blobs, {
            dryRun: !opts.yes,
            onGarbage: (g) => process.stdout.write(`${verb} ${g.key} (${g.size ?? '?'} bytes)\n`),
          })
          const bytes = result.unreferenced.reduce((sum, g) => sum + (g.size ?? 0), 0)
          const n = result.unreferenced.length
          const summary = opts.yes
            ? `pkgway: deleted ${result.deleted} unreferenced objects (${mb(bytes)}) of ${result.scanned}`
            : `pkgway: ${n} unreferenced objects (${mb(bytes)}) of ${result.scanned}${n > 0 ? '; run with --yes to delete them' : ''}`
          process.stdout.write(`${summary}\n`)
        } finally {
          await catalog.close()
        }
      }),
    )

  program
    .command('signing-key')
    .description('manage the URL-signing key kept in the catalog')
    .command('rotate')
    .description('sign new URLs with a new key; URLs signed with the previous one stay valid until they expire')
    .option(
      '--accept-for <seconds>',
      'how long the previous key still verifies (default: one week, the longest URL lifetime)',
      seconds,
    )
    .action(
      run(async (opts: { acceptFor?: number }, command: Command) => {
        const config = configFor(command)
        if (config.signingSecret) throw new Error('signingSecret is configured, so the catalog key is not used')
        const [
          { openCatalog },
          { ensureSigningKey, MAX_URL_LIFETIME_SECONDS, rotateSigningKey },
          { readLegacySigningSecret },
        ] = await Promise.all([
          import('../gateway/catalog/db.ts'),
          import('../gateway/catalog/signing-keys.ts'),
          import('../config/load.ts'),
        ])
        const catalog = await openCatalog(config.databaseUrl)
        try {
          await catalog.migrate()
          await ensureSigningKey(catalog.db, readLegacySigningSecret(config.dataDir))
          const acceptFor = opts.acceptFor ?? MAX_URL_LIFETIME_SECONDS
          const generation = await rotateSigningKey(catalog.db, acceptFor)
          process.stdout.write(
            `pkgway: signing key ${generation} is current; the previous one is accepted for ${acceptFor} more seconds\n`,
          )
        } finally {
          await catalog.close()
        }
      }),
    )
}
