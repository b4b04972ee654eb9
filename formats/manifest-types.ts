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
  /**
   * OCI: the image layout's `index.json`, verbatim. Never served (it is not a registry manifest); it records which
   * of the tarball's manifests a release's tag and version name, in order. The manifests themselves are stored
   * with their own media types (formats/oci/media-types.ts).
   */
  ociLayoutIndex: 'application/vnd.pkgway.oci-layout-index+json',
} as const
