/**
 * Row types of the catalog, one interface per table. Column names are the database's (snake_case);
 * JSON columns hold text and are parsed by the repositories. See migrations/001-initial.ts.
 */

export type DistributionStrategy = 'LICENSED' | 'OPEN' | 'CLOSED'
export type ReleaseStatus = 'DRAFT' | 'PUBLISHED' | 'YANKED'
export type ArtifactStatus = 'WAITING' | 'PROCESSING' | 'UPLOADED' | 'FAILED' | 'YANKED'
export type Channel = 'stable' | 'rc' | 'beta' | 'alpha' | 'dev'
export type EngineKey = 'pypi' | 'npm' | 'rubygems' | 'oci' | 'tauri' | 'raw'
export type ExpirationStrategy = 'REVOKE_ACCESS' | 'RESTRICT_ACCESS' | 'MAINTAIN_ACCESS' | 'ALLOW_ACCESS'
export type AuthenticationStrategy = 'TOKEN' | 'LICENSE' | 'MIXED' | 'NONE' | 'SESSION'
export type BearerType = 'admin' | 'product' | 'user' | 'license'
export type UserRole = 'user' | 'admin' | 'developer' | 'sales-agent' | 'support-agent' | 'read-only'
export type JobStatus = 'queued' | 'running' | 'done' | 'failed'

export const ENGINE_KEYS: readonly EngineKey[] = ['pypi', 'npm', 'rubygems', 'oci', 'tauri', 'raw']
export const CHANNELS: readonly Channel[] = ['stable', 'rc', 'beta', 'alpha', 'dev']

interface Stamped {
  created_at: string
  updated_at: string
}

export interface AccountRow extends Stamped {
  id: string
  slug: string
  name: string
  secret_key: string
  /** Content revision: bumped by every change to products, packages, releases, artifacts, entitlements. */
  revision: number
  /** Credential revision: bumped by every change to what a credential resolves to. */
  auth_revision: number
}

/** An account as every request sees it: never its secret columns. */
export type Account = Pick<AccountRow, 'id' | 'slug' | 'name' | 'created_at' | 'updated_at'>

export interface ProductRow extends Stamped {
  id: string
  account_id: string
  name: string
  code: string | null
  code_key: string | null
  distribution_strategy: DistributionStrategy
  url: string | null
  platforms: string | null
  metadata: string
}

export interface EntitlementRow extends Stamped {
  id: string
  account_id: string
  name: string
  code: string
  code_key: string
  metadata: string
}

export interface EngineRow extends Stamped {
  id: string
  account_id: string
  key: EngineKey
  name: string | null
}

export interface PackageRow extends Stamped {
  id: string
  account_id: string
  product_id: string
  name: string
  key: string
  engine: EngineKey | null
  metadata: string
}

export interface ReleaseRow extends Stamped {
  id: string
  account_id: string
  product_id: string
  package_id: string | null
  package_scope: string
  version: string
  semver_major: number
  semver_minor: number
  semver_patch: number
  semver_prerelease: string | null
  semver_build: string | null
  channel: Channel
  tag: string | null
  status: ReleaseStatus
  name: string | null
  description: string | null
  backdated_to: string | null
  yanked_at: string | null
  metadata: string
}

export interface ReleaseConstraintRow extends Stamped {
  id: string
  account_id: string
  release_id: string
  entitlement_id: string
}

export interface ArtifactRow extends Stamped {
  id: string
  account_id: string
  release_id: string
  filename: string
  filetype: string | null
  platform: string | null
  arch: string | null
  filesize: number | null
  checksum: string | null
  signature: string | null
  status: ArtifactStatus
  status_reason: string | null
  content_length: number | null
  sha1?: string | null
  sha256: string | null
  sha512: string | null
  metadata: string
  /** Key of the upload attempt until it is verified and promoted (storage/keys.ts); null afterwards. */
  upload_key?: string | null
}

export interface ManifestRow extends Stamped {
  id: string
  account_id: string
  release_id: string
  artifact_id: string
  content_type: string
  content_digest: string | null
  content_length: number | null
  content_path: string | null
  content: string
}

export interface DescriptorRow extends Stamped {
  id: string
  account_id: string
  release_id: string
  artifact_id: string
  content_type: string
  content_digest: string | null
  content_length: number | null
  content_path: string | null
}

export interface UserRow extends Stamped {
  id: string
  account_id: string
  email: string
  email_key: string
  first_name: string | null
  last_name: string | null
  role: UserRole
  password_hash: string | null
  banned_at: string | null
  metadata: string
}

export interface PolicyRow extends Stamped {
  id: string
  account_id: string
  product_id: string
  name: string
  duration: number | null
  expiration_strategy: ExpirationStrategy
  authentication_strategy: AuthenticationStrategy
  metadata: string
}

export interface LicenseRow extends Stamped {
  id: string
  account_id: string
  policy_id: string
  product_id: string
  owner_id: string | null
  key: string
  name: string | null
  expiry: string | null
  suspended: number
  metadata: string
}

export interface PolicyEntitlementRow extends Stamped {
  id: string
  account_id: string
  policy_id: string
  entitlement_id: string
}

export interface LicenseEntitlementRow extends Stamped {
  id: string
  account_id: string
  license_id: string
  entitlement_id: string
}

export interface LicenseUserRow extends Stamped {
  id: string
  account_id: string
  license_id: string
  user_id: string
}

export interface TokenRow extends Stamped {
  id: string
  account_id: string
  bearer_type: BearerType
  bearer_id: string | null
  kind: string
  name: string | null
  digest: string
  expiry: string | null
}

export interface JobRow extends Stamped {
  id: string
  kind: string
  account_id: string | null
  payload: string
  status: JobStatus
  attempts: number
  max_attempts: number
  run_at: string
  locked_by: string | null
  lease_until: string | null
  last_error: string | null
  dedupe_key: string | null
}

/** The database as kysely sees it. */
/** A secret of gateway-signed URLs (migrations/002-signing-keys.ts). */
export interface SigningKeyRow {
  generation: number
  secret: string
  created_at: string
  /** When a rotation replaced it; null for the key that signs. */
  retired_at: string | null
  /** A retired key verifies URLs until then. */
  accept_until: string | null
}

export interface Database {
  accounts: AccountRow
  products: ProductRow
  entitlements: EntitlementRow
  engines: EngineRow
  packages: PackageRow
  releases: ReleaseRow
  release_constraints: ReleaseConstraintRow
  artifacts: ArtifactRow
  manifests: ManifestRow
  descriptors: DescriptorRow
  users: UserRow
  policies: PolicyRow
  licenses: LicenseRow
  policy_entitlements: PolicyEntitlementRow
  license_entitlements: LicenseEntitlementRow
  license_users: LicenseUserRow
  tokens: TokenRow
  jobs: JobRow
  signing_keys: SigningKeyRow
}
