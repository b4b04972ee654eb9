/**
 * Small typed builders that insert catalog rows directly (no API), for tests. Every builder bumps the account's
 * revision like a real write would. Ids, names, keys and timestamps get defaults; pass what the test is about.
 *
 *   const product = await seedProduct(db, account, { strategy: 'OPEN', code: 'app' })
 *   const release = await seedRelease(db, account, { product, version: '1.0.0', status: 'PUBLISHED' })
 *   await seedArtifact(db, account, { release, filename: 'app.tar.gz', status: 'UPLOADED' })
 */
import { createHash, randomBytes } from 'node:crypto'
import semver from 'semver'
import { hashPassword } from '../../gateway/auth/passwords.ts'
import { issueToken } from '../../gateway/auth/tokens.ts'
import { bumpRevision, createAccount, type Executor } from '../../gateway/catalog/accounts.ts'
import { newId, now } from '../../gateway/catalog/db.ts'
import type {
  AccountRow,
  ArtifactRow,
  ArtifactStatus,
  AuthenticationStrategy,
  BearerType,
  Channel,
  DistributionStrategy,
  EngineKey,
  EntitlementRow,
  ExpirationStrategy,
  LicenseRow,
  PackageRow,
  PolicyRow,
  ProductRow,
  ReleaseRow,
  ReleaseStatus,
  TokenRow,
  UserRole,
  UserRow,
} from '../../gateway/catalog/types.ts'

type Ref<T extends { id: string }> = T | string
const idOf = <T extends { id: string }>(ref: Ref<T>): string => (typeof ref === 'string' ? ref : ref.id)
const suffix = () => randomBytes(4).toString('hex')

/** A date relative to now, as ISO 8601: `ago({ days: 3 })`, `fromNow({ days: 30 })`. */
export const ago = ({ days = 0, hours = 0 }: { days?: number; hours?: number }): string =>
  new Date(Date.now() - (days * 24 + hours) * 3600_000).toISOString()
export const fromNow = ({ days = 0, hours = 0 }: { days?: number; hours?: number }): string =>
  new Date(Date.now() + (days * 24 + hours) * 3600_000).toISOString()

export async function seedAccount(db: Executor, slug = `acct-${suffix()}`): Promise<AccountRow> {
  return createAccount(db, slug)
}

export interface SeedProductInput {
  strategy?: DistributionStrategy
  code?: string | null
  name?: string
}

export async function seedProduct(
  db: Executor,
  account: Pick<AccountRow, 'id'>,
  input: SeedProductInput = {},
): Promise<ProductRow> {
  const ts = now()
  const code = input.code ?? null
  const row: ProductRow = {
    id: newId(),
    account_id: account.id,
    name: input.name ?? `Product ${suffix()}`,
    code,
    code_key: code === null ? null : code.toLowerCase(),
    distribution_strategy: input.strategy ?? 'LICENSED',
    url: null,
    platforms: null,
    metadata: '{}',
    created_at: ts,
    updated_at: ts,
  }
  await db.insertInto('products').values(row).execute()
  await bumpRevision(db, account.id)
  return row
}

export async function seedEntitlement(
  db: Executor,
  account: Pick<AccountRow, 'id'>,
  input: { code?: string; name?: string } = {},
): Promise<EntitlementRow> {
  const ts = now()
  const code = input.code ?? `ent-${suffix()}`
  const row: EntitlementRow = {
    id: newId(),
    account_id: account.id,
    name: input.name ?? code,
    code,
    code_key: code.toLowerCase(),
    metadata: '{}',
    created_at: ts,
    updated_at: ts,
  }
  await db.insertInto('entitlements').values(row).execute()
  await bumpRevision(db, account.id)
  return row
}

export interface SeedPolicyInput {
  product: Ref<ProductRow>
  expirationStrategy?: ExpirationStrategy
  authenticationStrategy?: AuthenticationStrategy
  duration?: number | null
  entitlements?: Ref<EntitlementRow>[]
  name?: string
}

export async function seedPolicy(
  db: Executor,
  account: Pick<AccountRow, 'id'>,
  input: SeedPolicyInput,
): Promise<PolicyRow> {
  const ts = now()
  const row: PolicyRow = {
    id: newId(),
    account_id: account.id,
    product_id: idOf(input.product),
    name: input.name ?? `Policy ${suffix()}`,
    duration: input.duration ?? null,
    expiration_strategy: input.expirationStrategy ?? 'RESTRICT_ACCESS',
    authentication_strategy: input.authenticationStrategy ?? 'TOKEN',
    metadata: '{}',
    created_at: ts,
    updated_at: ts,
  }
  await db.insertInto('policies').values(row).execute()
  for (const e of input.entitlements ?? []) {
    await db
      .insertInto('policy_entitlements')
      .values({
        id: newId(),
        account_id: account.id,
        policy_id: row.id,
        entitlement_id: idOf(e),
        created_at: ts,
        updated_at: ts,
      })
      .execute()
  }
  await bumpRevision(db, account.id)
  return row
}

export interface SeedLicenseInput {
  policy: PolicyRow
  key?: string
  expiry?: string | null
  suspended?: boolean
  owner?: Ref<UserRow> | null
  /** Entitlements attached to the license itself (the policy's are added by the resolver). */
  entitlements?: Ref<EntitlementRow>[]
  /** Users attached as licensees (license_users). */
  users?: Ref<UserRow>[]
  name?: string | null
  createdAt?: string
}

/** generateLicenseKey mimics Keygen's format: 32 hex characters, the last two `v3`, upper-case, groups of six. */
export function generateLicenseKey(): string {
  const hex = `${randomBytes(15).toString('hex')}v3`.toUpperCase()
  return hex.match(/.{1,6}/g)!.join('-')
}

export async function seedLicense(
  db: Executor,
  account: Pick<AccountRow, 'id'>,
  input: SeedLicenseInput,
): Promise<LicenseRow> {
  const ts = input.createdAt ?? now()
  const row: LicenseRow = {
    id: newId(),
    account_id: account.id,
    policy_id: input.policy.id,
    product_id: input.policy.product_id,
    owner_id: input.owner ? idOf(input.owner) : null,
    key: input.key ?? generateLicenseKey(),
    name: input.name ?? null,
    expiry: input.expiry ?? null,
    suspended: input.suspended ? 1 : 0,
    metadata: '{}',
    created_at: ts,
    updated_at: ts,
  }
  await db.insertInto('licenses').values(row).execute()
  for (const e of input.entitlements ?? []) {
    await db
      .insertInto('license_entitlements')
      .values({
        id: newId(),
        account_id: account.id,
        license_id: row.id,
        entitlement_id: idOf(e),
        created_at: ts,
        updated_at: ts,
      })
      .execute()
  }
  for (const u of input.users ?? []) await seedLicenseUser(db, account, row, u)
  await bumpRevision(db, account.id)
  return row
}

/** seedLicenseUser attaches a user to a license as a licensee. */
export async function seedLicenseUser(
  db: Executor,
  account: Pick<AccountRow, 'id'>,
  license: Ref<LicenseRow>,
  user: Ref<UserRow>,
): Promise<void> {
  const ts = now()
  await db
    .insertInto('license_users')
    .values({
      id: newId(),
      account_id: account.id,
      license_id: idOf(license),
      user_id: idOf(user),
      created_at: ts,
      updated_at: ts,
    })
    .execute()
  await bumpRevision(db, account.id)
}

export interface SeedUserInput {
  email?: string
  role?: UserRole
  /** Stored as a scrypt hash. */
  password?: string | null
  banned?: boolean
  firstName?: string | null
  lastName?: string | null
}

export async function seedUser(
  db: Executor,
  account: Pick<AccountRow, 'id'>,
  input: SeedUserInput = {},
): Promise<UserRow> {
  const ts = now()
  const email = input.email ?? `user-${suffix()}@example.com`
  const row: UserRow = {
    id: newId(),
    account_id: account.id,
    email,
    email_key: email.toLowerCase(),
    first_name: input.firstName ?? null,
    last_name: input.lastName ?? null,
    role: input.role ?? 'user',
    password_hash: input.password ? await hashPassword(input.password) : null,
    banned_at: input.banned ? ts : null,
    metadata: '{}',
    created_at: ts,
    updated_at: ts,
  }
  await db.insertInto('users').values(row).execute()
  await bumpRevision(db, account.id)
  return row
}

export interface SeedPackageInput {
  product: Ref<ProductRow>
  key?: string
  name?: string
  engine?: EngineKey | null
  createdAt?: string
}

export async function seedPackage(
  db: Executor,
  account: Pick<AccountRow, 'id'>,
  input: SeedPackageInput,
): Promise<PackageRow> {
  const ts = input.createdAt ?? now()
  const key = input.key ?? `pkg-${suffix()}`
  const engine = input.engine ?? null
  if (engine !== null) {
    const existing = await db
      .selectFrom('engines')
      .select('id')
      .where('account_id', '=', account.id)
      .where('key', '=', engine)
      .executeTakeFirst()
    if (!existing) {
      await db
        .insertInto('engines')
        .values({ id: newId(), account_id: account.id, key: engine, name: null, created_at: ts, updated_at: ts })
        .execute()
    }
  }
  const row: PackageRow = {
    id: newId(),
    account_id: account.id,
    product_id: idOf(input.product),
    name: input.name ?? key,
    key,
    engine,
    metadata: '{}',
    created_at: ts,
    updated_at: ts,
  }
  await db.insertInto('packages').values(row).execute()
  await bumpRevision(db, account.id)
  return row
}

export interface SeedReleaseInput {
  product: Ref<ProductRow>
  package?: Ref<PackageRow> | null
  version?: string
  /** Default: derived from the prerelease (`1.0.0-beta.1` → beta), else stable. */
  channel?: Channel
  status?: ReleaseStatus
  tag?: string | null
  /** Entitlements the release is constrained by. */
  constraints?: Ref<EntitlementRow>[]
  backdatedTo?: string | null
  createdAt?: string
  name?: string | null
  description?: string | null
  metadata?: Record<string, unknown>
}

let versionCounter = 0

export async function seedRelease(
  db: Executor,
  account: Pick<AccountRow, 'id'>,
  input: SeedReleaseInput,
): Promise<ReleaseRow> {
  const ts = input.createdAt ?? now()
  const version = input.version ?? `0.0.${++versionCounter}`
  const parsed = semver.parse(version)
  if (!parsed) throw new Error(`seedRelease: invalid version ${version}`)
  const prerelease = parsed.prerelease.length ? parsed.prerelease.join('.') : null
  const channel =
    input.channel ??
    (prerelease === null
      ? 'stable'
      : ((['rc', 'beta', 'alpha', 'dev'] as const).find((c) => prerelease.startsWith(c)) ?? 'dev'))
  const packageId = input.package ? idOf(input.package) : null
  const status = input.status ?? 'DRAFT'
  const row: ReleaseRow = {
    id: newId(),
    account_id: account.id,
    product_id: idOf(input.product),
    package_id: packageId,
    package_scope: packageId ?? '',
    // As the catalog stores it (gateway/catalog/versions.ts parseVersion): build metadata kept.
    version: parsed.build.length ? `${parsed.version}+${parsed.build.join('.')}` : parsed.version,
    semver_major: parsed.major,
    semver_minor: parsed.minor,
    semver_patch: parsed.patch,
    semver_prerelease: prerelease,
    semver_build: parsed.build.length ? parsed.build.join('.') : null,
    channel,
    tag: input.tag ?? null,
    status,
    name: input.name ?? null,
    description: input.description ?? null,
    backdated_to: input.backdatedTo ?? null,
    yanked_at: status === 'YANKED' ? ts : null,
    metadata: JSON.stringify(input.metadata ?? {}),
    created_at: ts,
    updated_at: ts,
  }
  await db.insertInto('releases').values(row).execute()
  for (const e of input.constraints ?? []) {
    await db
      .insertInto('release_constraints')
      .values({
        id: newId(),
        account_id: account.id,
        release_id: row.id,
        entitlement_id: idOf(e),
        created_at: ts,
        updated_at: ts,
      })
      .execute()
  }
  await bumpRevision(db, account.id)
  return row
}

export interface SeedArtifactInput {
  release: Ref<ReleaseRow>
  filename?: string
  /** Default: the filename's extension (`tar.gz` for `.tar.gz`). */
  filetype?: string | null
  status?: ArtifactStatus
  platform?: string | null
  arch?: string | null
  filesize?: number | null
  checksum?: string | null
  signature?: string | null
  sha256?: string | null
  sha1?: string | null
  sha512?: string | null
  metadata?: Record<string, unknown>
  createdAt?: string
}

export async function seedArtifact(
  db: Executor,
  account: Pick<AccountRow, 'id'>,
  input: SeedArtifactInput,
): Promise<ArtifactRow> {
  const ts = input.createdAt ?? now()
  const filename = input.filename ?? `artifact-${suffix()}.tar.gz`
  const inferred = /\.tar\.(gz|xz|bz2)$/.test(filename) ? filename.split('.').slice(-2).join('.') : null
  const ext = inferred ?? (filename.includes('.') ? filename.split('.').pop()! : null)
  const row: ArtifactRow = {
    id: newId(),
    account_id: account.id,
    release_id: idOf(input.release),
    filename,
    filetype: input.filetype === undefined ? ext : input.filetype,
    platform: input.platform ?? null,
    arch: input.arch ?? null,
    filesize: input.filesize ?? null,
    checksum: input.checksum ?? null,
    signature: input.signature ?? null,
    status: input.status ?? 'UPLOADED',
    status_reason: null,
    content_length: input.filesize ?? null,
    sha256: input.sha256 ?? null,
    sha1: input.sha1 ?? null,
    sha512: input.sha512 ?? null,
    metadata: JSON.stringify(input.metadata ?? {}),
    created_at: ts,
    updated_at: ts,
  }
  await db.insertInto('artifacts').values(row).execute()
  await bumpRevision(db, account.id)
  return row
}

export interface SeedTokenInput {
  bearerType: BearerType
  /** The product, user or license; null for account-wide admin tokens. */
  bearer?: { id: string } | null
  expiry?: string | null
  name?: string | null
}

/** seedToken issues a token and returns its row and the raw value. */
export async function seedToken(
  db: Executor,
  account: Pick<AccountRow, 'id'>,
  input: SeedTokenInput,
): Promise<{ row: TokenRow; raw: string }> {
  return issueToken(db, account, {
    bearerType: input.bearerType,
    bearerId: input.bearer ? input.bearer.id : null,
    expiry: input.expiry ?? null,
    name: input.name ?? null,
  })
}

export interface SeedManifestInput {
  artifact: ArtifactRow
  contentType: string
  content: string
  contentPath?: string | null
}

/** seedManifest stores a manifest as the upload worker does (a `sha256:<hex>` digest of the UTF-8 content). */
export async function seedManifest(db: Executor, account: Pick<AccountRow, 'id'>, input: SeedManifestInput) {
  const bytes = Buffer.from(input.content, 'utf8')
  const ts = now()
  await db
    .insertInto('manifests')
    .values({
      id: newId(),
      account_id: account.id,
      release_id: input.artifact.release_id,
      artifact_id: input.artifact.id,
      content_type: input.contentType,
      content_digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
      content_length: bytes.length,
      content_path: input.contentPath ?? null,
      content: input.content,
      created_at: ts,
      updated_at: ts,
    })
    .execute()
  await bumpRevision(db, account.id)
}
