/**
 * The registry's paths under `/v2/`: `<name>/manifests/<reference>`, `<name>/blobs/<digest>`,
 * `<name>/tags/list`, `<name>/referrers/<digest>`, where `<name>` may hold `/` (`<account>/<package>`).
 * see: https://github.com/opencontainers/distribution-spec/blob/main/spec.md#endpoints
 */
export type RegistryPath =
  | { kind: 'manifests' | 'blobs' | 'referrers'; name: string; arg: string }
  | { kind: 'tags'; name: string }

const WITH_ARGUMENT = new Set(['manifests', 'blobs', 'referrers'])

/** parseRegistryPath splits what follows `/v2/`; null for any other path (blob uploads, `_catalog`, …). */
export function parseRegistryPath(rest: string): RegistryPath | null {
  const segments = rest.split('/')
  if (segments.length < 3 || segments.some((s) => s === '')) return null
  const [second, last] = segments.slice(-2)
  const name = segments.slice(0, -2).join('/')
  if (second === 'tags' && last === 'list') return { kind: 'tags', name }
  if (WITH_ARGUMENT.has(second)) return { kind: second as 'manifests' | 'blobs' | 'referrers', name, arg: last }
  return null
}
