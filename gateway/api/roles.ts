import type { FastifyRequest } from 'fastify'
import { requireAuth } from '../auth/plugin.ts'
import type { Principal } from '../auth/principal.ts'
import { forbidden } from '../errors.ts'

/** isAdmin: admin tokens and admin/developer users manage the account itself (products, policies, licenses…). */
export function isAdmin(p: Principal): boolean {
  return p.kind === 'staff' && (p.role === 'admin' || p.role === 'developer')
}

/** requireAdmin: 401 for anonymous callers, 403 for any bearer that is not an admin. */
export function requireAdmin(request: FastifyRequest): void {
  requireAuth(request)
  if (!isAdmin(request.principal)) throw forbidden()
}
