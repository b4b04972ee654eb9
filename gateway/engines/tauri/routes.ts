import type { FastifyInstance, FastifyReply } from 'fastify'
import authenticate from '../../auth/plugin.ts'
import { canShowPackage, canShowRelease, packageInScope, releaseInScope } from '../../auth/policy.ts'
import type { Principal } from '../../auth/principal.ts'
import type { PackageRow } from '../../catalog/types.ts'
import { forbidden, notFound } from '../../errors.ts'
import type { AccountSnapshot, LoadedRelease } from '../../read-model/account-snapshot.ts'
import { queryOf } from '../../read-model/links.ts'
import { findPackage } from '../../read-model/lookup.ts'
import { NO_STORE, useJsonErrors } from './errors.ts'
import { type OfferContext, TauriOffers } from './offers.ts'
import { parseUpdateQuery, requireAcceptable } from './query.ts'

/**
 * findTauriPackage resolves `<package>` (key or UUID) among the tauri packages the caller may see (else 404, also
 * for anonymous callers of LICENSED products), then applies the package show rule (403).
 */
function findTauriPackage(snap: AccountSnapshot, principal: Principal, alias: string): PackageRow {
  const pkg = findPackage(snap, alias)
  const product = pkg?.engine === 'tauri' ? snap.productsById.get(pkg.product_id) : undefined
  const facts = product && { productId: product.id, strategy: product.distribution_strategy }
  if (!pkg || !facts || !packageInScope(principal, facts)) {
    throw notFound(`The requested release package '${alias}' was not found`)
  }
  const decision = canShowPackage(principal, facts)
  if (!decision.allow) throw forbidden(decision.reason)
  return pkg
}

/** currentRelease is the package's release at exactly `version` that the caller may see, or undefined. */
function currentRelease(
  snap: AccountSnapshot,
  principal: Principal,
  pkg: PackageRow,
  version: string,
  now: number,
): LoadedRelease | undefined {
  const byVersion = snap.memo(
    `tauri:versions:${pkg.id}`,
    () => new Map(snap.releases.filter((r) => r.row.package_id === pkg.id).map((r) => [r.row.version, r])),
  )
  const found = byVersion.get(version)
  return found && releaseInScope(principal, found.facts, now) ? found : undefined
}

/** noUpdate is the only answer the updater reads as "up to date": 204 with an empty body. */
const noUpdate = (reply: FastifyReply) => reply.code(204).send()

/** showOrDeny applies the release show rule (suspended or banned licenses, expiry windows): denied is a 403. */
function showOrDeny(principal: Principal, release: LoadedRelease, now: number): void {
  const decision = canShowRelease(principal, release.facts, now)
  if (!decision.allow) throw forbidden(decision.reason)
}

/**
 * The Tauri engine, the updater's dynamic update server (v1 and v2): `GET …/engines/tauri/<package>` with
 * `platform={{target}}`, `arch={{arch}}`, `version={{current_version}}` and optionally `channel` and `constraint`
 * answers 200 `{version, notes, pub_date, url, signature}`, or 204 (empty) when there is nothing newer for that
 * platform. The release is chosen by the rule `GET /v1/releases/:id/upgrade` uses (read-model/select-upgrade.ts);
 * `url` is the absolute artifact download route with the request's query string, so the updater's own headers
 * or `?auth=license:KEY` authorize the download too. Warm checks make no catalog round trip.
 * see: ../shared/spec/engines.md §2.6, §4.13, §4.14
 */
export async function tauriEngine(fastify: FastifyInstance) {
  useJsonErrors(fastify)
  await fastify.register(authenticate, { challenge: 'Bearer', realm: 'keygen' })
  const { readModel } = fastify
  const offers = new TauriOffers(fastify.blobs, fastify.log)

  fastify.get<{ Params: { package: string } }>('/:package', { config: { replay: true } }, async (request, reply) => {
    requireAcceptable(request.headers.accept)
    reply.header('Cache-Control', NO_STORE)
    const { principal } = request
    const now = Date.now()
    const snap = await readModel.snapshot(request.account.id)
    const pkg = findTauriPackage(snap, principal, request.params.package)
    const query = parseUpdateQuery(request.query)
    const current = currentRelease(snap, principal, pkg, query.version, now)
    if (!current) return noUpdate(reply)
    showOrDeny(principal, current, now)
    const ctx: OfferContext = {
      snap,
      principal,
      now,
      current,
      query,
      base: fastify.absoluteBase(request),
      search: queryOf(request.url),
    }
    const key = offers.key(ctx)
    const offer = await offers.load(key, ctx)
    if (offer.upgradeId !== null) showOrDeny(principal, snap.releasesById.get(offer.upgradeId)!, now)
    if (offer.body === null) return noUpdate(reply)
    return reply.code(200).type('application/json; charset=utf-8').send(offer.body)
  })
}
