import { createHmac, createSecretKey, randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import { LRUCache } from 'lru-cache'
import type { Credentials } from '../auth/credentials.ts'
import type { Principal } from '../auth/principal.ts'
import {
  type CredentialFacts,
  factsChangeAt,
  loadCredentialFacts,
  principalFromFacts,
  type ResolveOptions,
} from '../auth/resolve.ts'
import { loadAccountRows, loadManifests } from '../catalog/account-rows.ts'
import { isCatalogUnavailable } from '../catalog/health.ts'
import { accountSecret, findAccount, firstAccount, getRevisions } from '../catalog/accounts.ts'
import { DEFAULT_ACCOUNT_SLUG } from '../catalog/bootstrap.ts'
import type { RevisionFeed } from '../catalog/revision-feed.ts'
import type { Account, Database, ManifestRow } from '../catalog/types.ts'
import { notFound } from '../errors.ts'
import { cacheLookupRecorder } from '../metrics.ts'
import { AccountSnapshot } from './account-snapshot.ts'

export interface ReadModelOptions {
  /** Upper bound of the summed approximate size of cached snapshots, in bytes (default 256 MiB). */
  maxSnapshotBytes?: number
  /** Most credentials kept resolved (default 50,000). */
  maxCredentials?: number
}

const recordSnapshotLookup = cacheLookupRecorder('snapshots')
const recordCredentialLookup = cacheLookupRecorder('credentials')

interface CachedFacts {
  /** The account's credential revision the facts were read at. */
  auth: number
  facts: CredentialFacts
}

/**
 * ReadModel is the read side of the gateway: "what may this principal see, and where are its bytes". The API
 * and every engine read through it; it takes plain values (account, credentials, ids), never a request. It
 * keeps, per instance and bounded in memory, what warm requests need so that they make no catalog round trip:
 * - accounts by id and slug (without their secret columns);
 * - credential → what the catalog says about it, keyed by an HMAC of the credential (never the raw value), valid
 *   while the account's credential revision stands; rules (expiry!) are applied at request time;
 * - one {@link AccountSnapshot} per account at its current content revision, on which derived values live.
 * Revisions come from the catalog's {@link RevisionFeed}: a write is seen here at once, elsewhere within 1 s.
 */
export class ReadModel {
  readonly #db: Kysely<Database>
  readonly #feed: RevisionFeed
  readonly #accounts = new LRUCache<string, Account>({ max: 10_000 })
  readonly #secrets = new Map<string, string>()
  readonly #snapshots: LRUCache<string, AccountSnapshot>
  readonly #loadingSnapshots = new Map<string, Promise<AccountSnapshot>>()
  readonly #credentials: LRUCache<string, CachedFacts>
  readonly #loadingCredentials = new Map<string, Promise<CachedFacts>>()
  /**
   * Key of the credential HMAC: random per process, so cache keys mean nothing outside it; a KeyObject, so no
   * request imports the key again.
   */
  readonly #credentialKey = createSecretKey(randomBytes(32))
  #defaultAccountId: string | null = null

  constructor(db: Kysely<Database>, feed: RevisionFeed, opts: ReadModelOptions = {}) {
    this.#db = db
    this.#feed = feed
    this.#snapshots = new LRUCache<string, AccountSnapshot>({
      max: 10_000,
      maxSize: opts.maxSnapshotBytes ?? 256 * 1024 * 1024,
      sizeCalculation: (s) => s.size,
    })
    this.#credentials = new LRUCache<string, CachedFacts>({ max: opts.maxCredentials ?? 50_000 })
  }

  // -------------------------------------------------------------------------------------------------------------
  // Accounts

  /** account resolves an account by UUID or slug, or undefined; synchronously when it is cached. */
  account(idOrSlug: string): Account | Promise<Account | undefined> {
    const key = idOrSlug.toLowerCase()
    return this.#accounts.get(key) ?? this.#loadAccount(key)
  }

  async #loadAccount(key: string): Promise<Account | undefined> {
    const account = await findAccount(this.#db, key)
    if (account) this.#remember(account)
    return account
  }

  /**
   * defaultAccount is the account of unscoped routes: slug `default`, else the oldest account; synchronously when
   * it is cached.
   */
  defaultAccount(): Account | Promise<Account> {
    const cached = this.#defaultAccountId === null ? undefined : this.#accounts.get(this.#defaultAccountId)
    return cached ?? this.#loadDefaultAccount()
  }

  async #loadDefaultAccount(): Promise<Account> {
    const account = (await findAccount(this.#db, DEFAULT_ACCOUNT_SLUG)) ?? (await firstAccount(this.#db))
    if (!account) throw notFound('The requested account was not found')
    this.#remember(account)
    this.#defaultAccountId = account.id
    return account
  }

  #remember(account: Account): void {
    this.#accounts.set(account.id, account)
    this.#accounts.set(account.slug, account)
  }

  // -------------------------------------------------------------------------------------------------------------
  // Content

  /** snapshot returns the account's content as of the newest revision this instance knows of. */
  snapshot(accountId: string): Promise<AccountSnapshot> | AccountSnapshot {
    const current = this.#snapshots.get(accountId)
    const fresh = current !== undefined && current.revision >= (this.#feed.get(accountId)?.content ?? 0)
    recordSnapshotLookup(fresh)
    if (fresh) return current
    if (!current) return this.#loadSnapshot(accountId)
    // The catalog cannot be reached: what this instance last read is still served (stale if error), as the
    // pages rendered from it are. Credentials are not: a credential whose revision moved needs the catalog.
    return this.#loadSnapshot(accountId).catch((err) => {
      if (isCatalogUnavailable(err)) return current
      throw err
    })
  }

  #loadSnapshot(accountId: string): Promise<AccountSnapshot> {
    const pending = this.#loadingSnapshots.get(accountId)
    if (pending) return pending
    const load = (async () => {
      try {
        // A load that began before a newer write committed is stale on arrival: read again (a few times at most).
        for (let attempt = 0; ; attempt++) {
          const rows = await loadAccountRows(this.#db, accountId)
          if (!rows) throw notFound('The requested account was not found')
          this.#feed.observe(accountId, rows.revisions)
          const snapshot = new AccountSnapshot(accountId, rows)
          const wanted = this.#feed.get(accountId)?.content ?? 0
          if (snapshot.revision >= wanted || attempt >= 2) {
            const previous = this.#snapshots.peek(accountId)
            if (previous !== undefined && previous.revision < snapshot.revision) {
              snapshot.succeed(previous, () => {
                if (this.#snapshots.peek(accountId) === snapshot) this.#snapshots.set(accountId, previous)
              })
            }
            this.#snapshots.set(accountId, snapshot)
            return snapshot
          }
        }
      } finally {
        this.#loadingSnapshots.delete(accountId)
      }
    })()
    this.#loadingSnapshots.set(accountId, load)
    return load
  }

  /**
   * manifests returns the stored manifests of a set of artifacts (optionally of one content type), grouped by
   * artifact id, oldest first; `group` names the set so that it is read once per snapshot.
   */
  manifests(
    snap: AccountSnapshot,
    group: string,
    artifactIds: readonly string[],
    contentType?: string,
  ): Promise<Map<string, ManifestRow[]>> {
    return snap.memo(`manifests\u0000${contentType ?? ''}\u0000${group}`, async () => {
      const out = new Map<string, ManifestRow[]>()
      for (const m of await loadManifests(this.#db, snap.accountId, artifactIds, contentType)) {
        const list = out.get(m.artifact_id)
        if (list) list.push(m)
        else out.set(m.artifact_id, [m])
      }
      return out
    })
  }

  // -------------------------------------------------------------------------------------------------------------
  // Credentials

  /**
   * principal turns credentials into a principal for an account, throwing Keygen's 401/403 errors. What the
   * catalog says about a credential is cached under an HMAC of it until the account's credential revision
   * changes; expiry, suspension and bans are judged here, at request time, from those facts. A cached credential
   * is answered synchronously (its errors are thrown), so a warm request waits on no promise.
   */
  principal(
    account: Account,
    credentials: Credentials,
    options: ResolveOptions = {},
    key = this.credentialKey(account.id, credentials),
  ): Principal | Promise<Principal> {
    if (key === null) return principalFromFacts(credentials, { kind: 'unknown' }, options)
    const known = this.#feed.get(account.id)?.auth ?? Number.POSITIVE_INFINITY
    const hit = this.#credentials.get(key)
    const fresh = hit !== undefined && hit.auth >= known
    recordCredentialLookup(fresh)
    if (fresh) return principalFromFacts(credentials, hit.facts, options)
    return this.#loadCredential(key, account.id, credentials).then((loaded) =>
      principalFromFacts(credentials, loaded.facts, options),
    )
  }

  /**
   * judgementHoldsUntil is the instant (epoch ms) until which a credential, judged now, is judged the same (its
   * next expiry), provided no revision moves; 0 when its facts are not cached (nothing to vouch for).
   */
  judgementHoldsUntil(key: string, now: number): number {
    const hit = this.#credentials.peek(key)
    return hit === undefined ? 0 : factsChangeAt(hit.facts, now)
  }

  /** generation changes whenever any account's known revisions do (catalog/revision-feed.ts). */
  get generation(): number {
    return this.#feed.generation
  }

  /**
   * credentialKey is the cache key of an account's credentials: an HMAC of them under this process's key, never the
   * credential itself. Null when there is nothing to look up (no credentials, or malformed ones).
   */
  credentialKey(accountId: string, credentials: Credentials): string | null {
    if (credentials.kind === 'none' || credentials.kind === 'malformed') return null
    const value =
      credentials.kind === 'license-key'
        ? credentials.key
        : credentials.kind === 'token'
          ? credentials.token
          : credentials.username
    return createHmac('sha256', this.#credentialKey)
      .update(`${accountId}\u0000${credentials.kind === 'license-key' ? 'L' : 'T'}\u0000${value}`)
      .digest('base64')
  }

  #loadCredential(key: string, accountId: string, credentials: Credentials): Promise<CachedFacts> {
    const pending = this.#loadingCredentials.get(key)
    if (pending) return pending
    const load = (async () => {
      try {
        const secret = await this.#secret(accountId)
        // The revision is read first: facts are never older than the revision they are labelled with.
        const revisions = await getRevisions(this.#db, accountId)
        const facts = await loadCredentialFacts(this.#db, accountId, secret, credentials)
        this.#feed.observe(accountId, revisions)
        const entry = { auth: revisions.auth, facts }
        this.#credentials.set(key, entry)
        return entry
      } finally {
        this.#loadingCredentials.delete(key)
      }
    })()
    this.#loadingCredentials.set(key, load)
    return load
  }

  async #secret(accountId: string): Promise<string> {
    let secret = this.#secrets.get(accountId)
    if (secret === undefined) {
      secret = (await accountSecret(this.#db, accountId)) ?? ''
      this.#secrets.set(accountId, secret)
    }
    return secret
  }
}
