import { type AcceptedTypes, accepts, preferenceRank } from '../../../formats/oci/accept.ts'
import { canShowRelease, seesUnpublished } from '../../auth/policy.ts'
import type { Principal } from '../../auth/principal.ts'
import type { LoadedRelease } from '../../read-model/account-snapshot.ts'
import { authenticationRequired, denied, type OciError } from './errors.ts'
import { type ImageManifest, isAttestation, type OciImage, type OciRepository } from './repository.ts'

/**
 * Which manifest or blob a caller gets, in engines.md §2.5's order: a minimal status pre-filter (staff see every
 * image, a product its own, everyone else images of PUBLISHED releases whose artifact is UPLOADED), then the
 * reference and Accept, then the release's show rule, whose denial is a 401 (anonymous) or 403, not a 404: a
 * license lacking an entitlement the release is constrained by is told it may not pull that tag or digest.
 */

/** mayConsider is the pre-filter: what the caller may be told about at all (else it is "unknown"). */
export function mayConsider(p: Principal, image: Pick<OciImage, 'artifact' | 'release'>): boolean {
  if (seesUnpublished(p, image.release.row.product_id)) return true
  return image.release.row.status === 'PUBLISHED' && image.artifact.status === 'UPLOADED'
}

/** denial is the error for a caller the show rule turned away. */
export const denial = (p: Principal): OciError =>
  p.kind === 'anonymous' ? authenticationRequired('authentication required') : denied()

/** firstAllowed returns the first candidate whose release the caller may be shown, or throws the denial. */
export function firstAllowed<T>(
  p: Principal,
  candidates: readonly T[],
  release: (c: T) => LoadedRelease,
  now: number,
): T {
  for (const c of candidates) if (canShowRelease(p, release(c).facts, now).allow) return c
  throw denial(p)
}

const byPreference = (a: ImageManifest, b: ImageManifest) =>
  preferenceRank(a.manifest.mediaType) - preferenceRank(b.manifest.mediaType)

/**
 * tagCandidates lists what a tag (or version) names among the images the caller may consider: the images' roots
 * (but referrers) the client accepts, best media type first; when it accepts none of them (an old client and an index), the
 * platform manifests inside those indexes, linux/amd64 first and attestations never.
 */
export function tagCandidates(
  repo: OciRepository,
  p: Principal,
  reference: string,
  accepted: AcceptedTypes,
): { found: boolean; candidates: ImageManifest[] } {
  const images = [...(repo.byTag.get(reference) ?? []), ...(repo.byVersion.get(reference) ?? [])].filter((i) =>
    mayConsider(p, i),
  )
  // A root with a `subject` (a signature, an SBOM attached to the image) is never what a tag names.
  const roots = images.flatMap((image) =>
    image.roots.filter((m) => !m.parsed?.subject).map((manifest) => ({ image, manifest })),
  )
  const direct = roots.filter((c) => accepts(accepted, c.manifest.mediaType)).sort(byPreference)
  if (direct.length > 0 || roots.length === 0) return { found: roots.length > 0, candidates: direct }
  const children: ImageManifest[] = []
  for (const { image, manifest } of roots) {
    if (manifest.parsed?.kind !== 'index') continue
    const entries = [...manifest.parsed.manifests].sort((a, b) => Number(isAmd64(b)) - Number(isAmd64(a)))
    for (const entry of entries) {
      const child = image.manifests.get(entry.digest)
      if (child && !isAttestation(image, entry.digest) && accepts(accepted, child.mediaType)) {
        children.push({ image, manifest: child })
      }
    }
  }
  return { found: true, candidates: children }
}

const isAmd64 = (d: { platform: { os: string; architecture: string } | null }) =>
  d.platform?.os === 'linux' && d.platform.architecture === 'amd64'

/** digestCandidates lists the manifests with that digest the caller may consider and the client accepts. */
export function digestCandidates(
  repo: OciRepository,
  p: Principal,
  digest: string,
  accepted: AcceptedTypes,
): { found: boolean; candidates: ImageManifest[] } {
  const known = (repo.byDigest.get(digest) ?? []).filter((c) => mayConsider(p, c.image))
  return { found: known.length > 0, candidates: known.filter((c) => accepts(accepted, c.manifest.mediaType)) }
}
