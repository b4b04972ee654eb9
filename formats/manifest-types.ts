/**
 * The manifest content types the upload worker stores for each package format, and the engines select by: one
 * list, so the writer and the readers cannot drift apart.
 */
export const MANIFEST_TYPES = {
  /** npm: `package/package.json` of the tarball, verbatim. */
  npmPackage: 'application/vnd.npm.package+json',
  /** RubyGems: the YAML gemspec (`metadata.gz` of the gem, decompressed), verbatim. */
  gemspec: 'application/x-yaml',
  /** RubyGems: what the compact index needs, as JSON. */
  gemInfo: 'application/vnd.pkgway.gem-info+json',
  /** PyPI: a wheel's `*.dist-info/METADATA`, verbatim (served as the PEP 658 `<file>.metadata`). */
  coreMetadata: 'application/vnd.pypi.core-metadata',
} as const
