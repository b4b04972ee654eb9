/**
 * Project names as PEP 503 compares them: case-insensitively, with runs of `-`, `_` and `.` equal to one `-`.
 * Both the stored package key and the requested name go through {@link normalizeProjectName}, so
 * `Vendor_Pkg`, `vendor.pkg` and `VENDOR--PKG` all reach the private `vendor-pkg` and never the public index.
 * see: https://peps.python.org/pep-0503/#normalized-names
 */
export function normalizeProjectName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase()
}

/** A valid distribution name (PEP 508 / core metadata `Name`). */
const PROJECT_NAME = /^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$/i

/** isValidProjectName rejects what no Python packaging tool would ask for (slashes, spaces, percent signs). */
export function isValidProjectName(name: string): boolean {
  return name.length <= 255 && PROJECT_NAME.test(name)
}
