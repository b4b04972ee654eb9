import { artifactDownloadPath } from '../read-model/links.ts'
import type {
  ArtifactRow,
  EngineRow,
  EntitlementRow,
  LicenseRow,
  PackageRow,
  PolicyRow,
  ProductRow,
  ReleaseRow,
  TokenRow,
  UserRow,
} from '../catalog/types.ts'
import { accountLink, accountRelationship, metadataOut, relationship, type ResourceObject } from './jsonapi.ts'

/**
 * One serializer per resource, producing Keygen's resource objects. Links always use the account UUID and
 * the long form `/v1/accounts/<id>/…`, as Keygen does, whichever URL form the request came in on.
 */

const stamps = (row: { created_at: string; updated_at: string }) => ({
  created: row.created_at,
  updated: row.updated_at,
})

export function productResource(row: ProductRow): ResourceObject {
  const base = `${accountLink(row.account_id)}/products/${row.id}`
  return {
    id: row.id,
    type: 'products',
    attributes: {
      name: row.name,
      code: row.code,
      distributionStrategy: row.distribution_strategy,
      url: row.url,
      platforms: row.platforms ? (JSON.parse(row.platforms) as string[]) : null,
      metadata: metadataOut(row.metadata),
      ...stamps(row),
    },
    relationships: {
      account: accountRelationship(row.account_id),
      policies: relationship(row.account_id, `${base}/policies`),
      licenses: relationship(row.account_id, `${base}/licenses`),
      releases: relationship(row.account_id, `${base}/releases`),
      engines: relationship(row.account_id, `${base}/engines`),
    },
    links: { self: base },
  }
}

export function entitlementResource(row: EntitlementRow): ResourceObject {
  return {
    id: row.id,
    type: 'entitlements',
    attributes: { name: row.name, code: row.code, metadata: metadataOut(row.metadata), ...stamps(row) },
    relationships: { account: accountRelationship(row.account_id) },
    links: { self: `${accountLink(row.account_id)}/entitlements/${row.id}` },
  }
}

export function engineResource(row: EngineRow): ResourceObject {
  const self = `${accountLink(row.account_id)}/engines/${row.id}`
  return {
    id: row.id,
    type: 'engines',
    attributes: { name: row.name, key: row.key, ...stamps(row) },
    relationships: { account: accountRelationship(row.account_id) },
    links: { related: self },
  }
}

export function packageResource(row: PackageRow): ResourceObject {
  const base = `${accountLink(row.account_id)}/packages/${row.id}`
  return {
    id: row.id,
    type: 'packages',
    attributes: {
      name: row.name,
      key: row.key,
      engine: row.engine,
      metadata: metadataOut(row.metadata),
      ...stamps(row),
    },
    relationships: {
      account: accountRelationship(row.account_id),
      product: relationship(row.account_id, `${base}/product`, { type: 'products', id: row.product_id }),
      releases: relationship(row.account_id, `${base}/releases`),
    },
    links: { self: base },
  }
}

export function releaseResource(row: ReleaseRow): ResourceObject {
  const base = `${accountLink(row.account_id)}/releases/${row.id}`
  return {
    id: row.id,
    type: 'releases',
    attributes: {
      name: row.name,
      description: row.description,
      channel: row.channel,
      status: row.status,
      tag: row.tag,
      version: row.version,
      semver: {
        major: Number(row.semver_major),
        minor: Number(row.semver_minor),
        patch: Number(row.semver_patch),
        prerelease: row.semver_prerelease,
        build: row.semver_build,
      },
      metadata: metadataOut(row.metadata),
      backdated: row.backdated_to,
      created: row.created_at,
      updated: row.updated_at,
      yanked: row.yanked_at,
    },
    relationships: {
      account: accountRelationship(row.account_id),
      product: relationship(row.account_id, `${base}/product`, { type: 'products', id: row.product_id }),
      package: relationship(
        row.account_id,
        `${base}/package`,
        row.package_id ? { type: 'packages', id: row.package_id } : null,
      ),
      entitlements: relationship(row.account_id, `${base}/entitlements`),
      constraints: relationship(row.account_id, `${base}/constraints`),
      artifacts: relationship(row.account_id, `${base}/artifacts`),
      upgrade: relationship(row.account_id, `${base}/upgrade`),
    },
    links: { self: base },
  }
}

/** artifactPath is the "vanity" download URL path the engines hand to package managers. */
export const artifactPath = (row: Pick<ArtifactRow, 'account_id' | 'id' | 'filename'>) =>
  `/${artifactDownloadPath(row)}`

export function artifactResource(
  row: ArtifactRow,
  opts: { redirect?: string; filetype?: string | null; filesize?: number | null } = {},
): ResourceObject {
  const self = `${accountLink(row.account_id)}/artifacts/${row.id}`
  const resource: ResourceObject = {
    id: row.id,
    type: 'artifacts',
    attributes: {
      filename: row.filename,
      filetype: opts.filetype !== undefined ? opts.filetype : row.filetype,
      filesize: opts.filesize !== undefined ? opts.filesize : row.filesize === null ? null : Number(row.filesize),
      platform: row.platform,
      arch: row.arch,
      signature: row.signature,
      checksum: row.checksum,
      status: row.status,
      metadata: metadataOut(row.metadata),
      ...stamps(row),
    },
    relationships: {
      account: accountRelationship(row.account_id),
      release: relationship(row.account_id, `${self}/release`, { type: 'releases', id: row.release_id }),
    },
    links: { ...(opts.redirect ? { redirect: opts.redirect } : {}), related: artifactPath(row), self },
  }
  const meta: Record<string, unknown> = {}
  if (row.status_reason) meta.statusReason = row.status_reason
  if (row.sha256) meta.sha256 = row.sha256
  if (Object.keys(meta).length) (resource as ResourceObject & { meta: unknown }).meta = meta
  return resource
}

export function policyResource(row: PolicyRow): ResourceObject {
  const base = `${accountLink(row.account_id)}/policies/${row.id}`
  return {
    id: row.id,
    type: 'policies',
    attributes: {
      name: row.name,
      duration: row.duration === null ? null : Number(row.duration),
      expirationStrategy: row.expiration_strategy,
      authenticationStrategy: row.authentication_strategy,
      metadata: metadataOut(row.metadata),
      ...stamps(row),
    },
    relationships: {
      account: accountRelationship(row.account_id),
      product: relationship(row.account_id, `${base}/product`, { type: 'products', id: row.product_id }),
      entitlements: relationship(row.account_id, `${base}/entitlements`),
      licenses: relationship(row.account_id, `${base}/licenses`),
    },
    links: { self: base },
  }
}

export type LicenseStatus = 'BANNED' | 'SUSPENDED' | 'EXPIRED' | 'EXPIRING' | 'ACTIVE'

export function licenseStatus(row: LicenseRow, ownerBanned: boolean, now = Date.now()): LicenseStatus {
  if (ownerBanned) return 'BANNED'
  if (row.suspended) return 'SUSPENDED'
  if (row.expiry) {
    const expiry = Date.parse(row.expiry)
    if (expiry <= now) return 'EXPIRED'
    if (expiry - now < 3 * 24 * 3600 * 1000) return 'EXPIRING'
  }
  return 'ACTIVE'
}

export function licenseResource(row: LicenseRow, ownerBanned = false): ResourceObject {
  const base = `${accountLink(row.account_id)}/licenses/${row.id}`
  return {
    id: row.id,
    type: 'licenses',
    attributes: {
      name: row.name,
      key: row.key,
      expiry: row.expiry,
      status: licenseStatus(row, ownerBanned),
      suspended: Boolean(row.suspended),
      metadata: metadataOut(row.metadata),
      ...stamps(row),
    },
    relationships: {
      account: accountRelationship(row.account_id),
      product: relationship(row.account_id, `${base}/product`, { type: 'products', id: row.product_id }),
      policy: relationship(row.account_id, `${base}/policy`, { type: 'policies', id: row.policy_id }),
      owner: relationship(row.account_id, `${base}/owner`, row.owner_id ? { type: 'users', id: row.owner_id } : null),
      users: relationship(row.account_id, `${base}/users`),
      entitlements: relationship(row.account_id, `${base}/entitlements`),
      tokens: relationship(row.account_id, `${base}/tokens`),
    },
    links: { self: base },
  }
}

export function userResource(row: UserRow): ResourceObject {
  const base = `${accountLink(row.account_id)}/users/${row.id}`
  const fullName = [row.first_name, row.last_name].filter(Boolean).join(' ') || null
  return {
    id: row.id,
    type: 'users',
    attributes: {
      fullName,
      firstName: row.first_name,
      lastName: row.last_name,
      email: row.email,
      status: row.banned_at ? 'BANNED' : 'ACTIVE',
      role: row.role,
      metadata: metadataOut(row.metadata),
      ...stamps(row),
    },
    relationships: {
      account: accountRelationship(row.account_id),
      licenses: relationship(row.account_id, `${base}/licenses`),
      tokens: relationship(row.account_id, `${base}/tokens`),
    },
    links: { self: base },
  }
}

const BEARER_TYPE = { admin: 'users', product: 'products', user: 'users', license: 'licenses' } as const

export function tokenResource(row: TokenRow, raw?: string): ResourceObject {
  return {
    id: row.id,
    type: 'tokens',
    attributes: {
      kind: row.kind,
      token: raw ?? null,
      name: row.name,
      expiry: row.expiry,
      ...stamps(row),
    },
    relationships: {
      account: accountRelationship(row.account_id),
      bearer: {
        data: row.bearer_id ? { type: BEARER_TYPE[row.bearer_type], id: row.bearer_id } : null,
      },
    },
    links: { self: `${accountLink(row.account_id)}/tokens/${row.id}` },
  }
}
