/**
 * Every API and engine route exists twice: under the bare `/v1` (the default account; the keygen CLI uses
 * this whenever its host is not Keygen's) and under `/v1/accounts/:account` (account UUID or slug).
 * see: ../shared/spec/management-api.md §0 "Account resolution"
 */
export const SCOPE_PREFIXES = ['/v1', '/v1/accounts/:account'] as const
