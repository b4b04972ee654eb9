import type { FastifyBaseLogger } from 'fastify'
import type { Principal } from '../../auth/principal.ts'
import type { ArtifactRow } from '../../catalog/types.ts'
import { cacheKey, IndexCache } from '../../cache/index-cache.ts'
import type { AccountSnapshot, LoadedRelease } from '../../read-model/account-snapshot.ts'
import { artifactDownloadPath } from '../../read-model/links.ts'
import { selectUpgrade } from '../../read-model/select-upgrade.ts'
import { visibilityClass } from '../../read-model/visibility.ts'
import type { BlobStore } from '../../storage/blob-store.ts'
import { pickBundle } from './bundle.ts'
import type { UpdateQuery } from './query.ts'

/** What an update check answers, before the per-request show rule on the upgrade. */
export interface Offer {
  /** The release to upgrade to; null when there is none. */
  upgradeId: string | null
  /** The rendered 200 body; null → 204 (no upgrade, or no signed bundle for the platform). */
  body: Buffer | null
}

/** Everything an offer depends on: all of it goes into the cache key, or is a function of what does. */
export interface OfferContext {
  snap: AccountSnapshot
  principal: Principal
  now: number
  current: LoadedRelease
  query: UpdateQuery
  /** The gateway's absolute base URL, ending in '/'. */
  base: string
  /** The request's query string with its `?` (credentials like `?auth=license:KEY` ride along to the download). */
  search: string
}

/** pubDate is RFC 3339 with milliseconds in UTC, as Keygen renders `created_at` (`2023-08-15T00:00:00.000Z`). */
function pubDate(iso: string): string | undefined {
  const t = Date.parse(iso)
  return Number.isNaN(t) ? undefined : new Date(t).toISOString()
}

/**
 * TauriOffers answers update checks from the read model's snapshot and caches each answer per
 * `account · snapshot · visibility class · base · current release · query string`: a warm check is a hash-map
 * hit, with no catalog statement and no storage read. What a principal of one visibility class sees is the same
 * for all of them; the show rules that can still differ (suspension, bans) are applied by the route per request.
 */
export class TauriOffers {
  readonly #offers = new IndexCache<Offer>({
    max: 20_000,
    maxSize: 32 * 1024 * 1024,
    sizeOf: (o) => 256 + (o.body?.length ?? 0),
  })

  constructor(
    readonly blobs: BlobStore,
    readonly log: FastifyBaseLogger,
  ) {}

  /** key names the cached answer of a check (the query string holds platform, arch, channel and constraint). */
  key(ctx: OfferContext): string {
    const { snap, principal, now, current, base, search } = ctx
    return cacheKey('tauri', snap.accountId, snap.serial, visibilityClass(principal, now), base, current.row.id, search)
  }

  /** load returns the answer for key from memory, or computes it (once for concurrent callers) and caches it. */
  load(key: string, ctx: OfferContext): Offer | Promise<Offer> {
    return this.#offers.getOrLoad(key, () => this.#render(ctx))
  }

  async #render(ctx: OfferContext): Promise<Offer> {
    const { snap, principal, now, current, query } = ctx
    const upgrade = selectUpgrade(snap, principal, now, {
      current,
      channel: query.channel,
      constraint: query.constraint,
    })
    if (!upgrade) return { upgradeId: null, body: null }
    const bundle = await pickBundle(this.blobs, snap, principal, now, upgrade, query.platform, query.arch, (row) =>
      this.#warnUnsigned(snap, upgrade, row),
    )
    if (!bundle) return { upgradeId: upgrade.row.id, body: null }
    const body = {
      version: upgrade.row.version,
      notes: upgrade.row.description,
      pub_date: pubDate(upgrade.row.created_at),
      url: `${ctx.base}${artifactDownloadPath(bundle.row)}${ctx.search}`,
      signature: bundle.signature,
    }
    return { upgradeId: upgrade.row.id, body: Buffer.from(JSON.stringify(body), 'utf8') }
  }

  /**
   * warnUnsigned tells the operator, once per artifact and content revision, why a bundle is never offered: the
   * updater would refuse it, so its users only ever hear "no update" (a keygen CLI Ed25519ph signature, say).
   */
  #warnUnsigned(snap: AccountSnapshot, release: LoadedRelease, row: ArtifactRow): void {
    snap.memo(`tauri:unsigned:${row.id}`, () => {
      this.log.warn(
        { artifact: row.id, filename: row.filename, release: release.row.id, version: release.row.version },
        'tauri: bundle not offered: neither its signature nor a verified <filename>.sig in its release is a ' +
          'minisign signature the updater can verify (the output of `tauri signer sign`)',
      )
      return true
    })
  }
}
