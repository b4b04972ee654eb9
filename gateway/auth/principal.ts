import type { AuthenticationStrategy, ExpirationStrategy, UserRole } from '../catalog/types.ts'

/**
 * Who is making a request, resolved once by the authenticate plugin (gateway/auth/plugin.ts) and read by
 * the pure policy functions (gateway/auth/policy.ts). Staff are admin tokens and admin-like user roles.
 */
export type Principal = AnonymousPrincipal | StaffPrincipal | ProductPrincipal | LicensePrincipal | UserPrincipal

export interface AnonymousPrincipal {
  kind: 'anonymous'
}

/** Admin tokens and users with an admin-like role (admin, developer, sales-agent, support-agent, read-only). */
export interface StaffPrincipal {
  kind: 'staff'
  role: Exclude<UserRole, 'user'>
  tokenId: string
  userId: string | null
}

export interface ProductPrincipal {
  kind: 'product'
  tokenId: string
  productId: string
}

/** A license, authenticated by its key or by a license (activation) token. */
export interface LicensePrincipal {
  kind: 'license'
  tokenId: string | null
  license: LicenseContext
}

/** A user with role `user`; reaches releases only through its licenses (owned or licensee). */
export interface UserPrincipal {
  kind: 'user'
  tokenId: string
  userId: string
  banned: boolean
  licenses: LicenseContext[]
}

/** What the policy needs to know about a license. */
export interface LicenseContext {
  id: string
  productId: string
  policyId: string
  /** ISO 8601 or null for licenses that never expire. */
  expiry: string | null
  suspended: boolean
  /** The owner user is banned. */
  banned: boolean
  expirationStrategy: ExpirationStrategy
  authenticationStrategy: AuthenticationStrategy
  /** Union of the policy's and the license's own entitlement ids. */
  entitlementIds: ReadonlySet<string>
}

export const ANONYMOUS: AnonymousPrincipal = { kind: 'anonymous' }

/** Roles that make a user (or its tokens) staff. */
export type StaffRole = StaffPrincipal['role']

export const isStaffRole = (role: UserRole): role is StaffRole => role !== 'user'

/** A principal that presented valid credentials. */
export type AuthenticatedPrincipal = Exclude<Principal, AnonymousPrincipal>
