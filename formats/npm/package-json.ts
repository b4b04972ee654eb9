import semver from 'semver'

/**
 * npm package tarballs: `package/package.json` is the manifest. The upload worker checks it on ingest and stores
 * it verbatim; the npm engine serves it as a version of the packument.
 * see: https://docs.npmjs.com/cli/configuring-npm/package-json
 */

export const NPM_MANIFEST_ENTRY = 'package/package.json'

/** A package.json that is a JSON object with a non-empty `name` and `version`. */
export interface PackageJson {
  name: string
  version: string
  /** Every field, in the file's order. */
  fields: Record<string, unknown>
}

/** readPackageJson parses a package.json, or says in one line why it is none. */
export function readPackageJson(text: string): { ok: true; value: PackageJson } | { ok: false; reason: string } {
  let json: unknown
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''))
  } catch (err) {
    const first = (err as Error).message.split('\n')[0].trim()
    return { ok: false, reason: `${NPM_MANIFEST_ENTRY} is not valid JSON: ${first}` }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, reason: `${NPM_MANIFEST_ENTRY} is not a JSON object` }
  }
  const fields = json as Record<string, unknown>
  const { name, version } = fields
  if (typeof name !== 'string' || name === '') return { ok: false, reason: `${NPM_MANIFEST_ENTRY} has no name` }
  if (typeof version !== 'string' || version === '') {
    return { ok: false, reason: `${NPM_MANIFEST_ENTRY} has no version` }
  }
  return { ok: true, value: { name, version, fields } }
}

/** versionsEqual compares as semver when both parse (ignoring build metadata, like npm), else as strings. */
export function versionsEqual(a: string, b: string): boolean {
  const x = semver.valid(a, { loose: true })
  const y = semver.valid(b, { loose: true })
  return x !== null && y !== null ? semver.eq(x, y) : a.trim() === b.trim()
}

/**
 * NPM_NAME is what the registry accepts as a package name in a URL: an optional `@scope/` and a lower-case
 * name of at least two characters. see: ../shared/spec/engines.md §1.1
 */
const NPM_NAME = /^(@[a-z0-9][a-z0-9-]*[a-z0-9]\/)?[a-z0-9][a-z0-9._-]*[a-z0-9]$/

/** isValidNpmName tells whether a (decoded) package name is one the registry serves. */
export function isValidNpmName(name: string): boolean {
  return name.length <= 214 && NPM_NAME.test(name)
}
