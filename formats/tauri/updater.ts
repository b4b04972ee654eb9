/**
 * What the Tauri updater (v1 core updater, v2 `tauri-plugin-updater`) asks for and can install: its `{{target}}`
 * and `{{arch}}` spellings, and which uploaded file of a release is its update bundle.
 * see: ../shared/spec/engines.md §2.6 · https://v2.tauri.app/plugin/updater/#dynamic-update-server
 */

/**
 * Spellings of one operating system: the updater's `{{target}}` (`linux`, `darwin`, `windows`) first, then what
 * vendors upload as an artifact's platform key (Go's GOOS, Node's `process.platform`, common names).
 */
const PLATFORMS: readonly (readonly string[])[] = [
  ['linux'],
  ['darwin', 'macos', 'mac', 'osx'],
  ['windows', 'win32', 'win', 'win64'],
]

/** Spellings of one architecture: the updater's `{{arch}}` first, then GOARCH, Node and MSVC names. */
const ARCHES: readonly (readonly string[])[] = [
  ['x86_64', 'amd64', 'x64'],
  ['aarch64', 'arm64'],
  ['i686', '386', 'i386', 'x86', 'ia32'],
  ['armv7', 'arm', 'armv7l', 'armhf'],
]

function familyIndex(families: readonly (readonly string[])[]): Map<string, string> {
  const out = new Map<string, string>()
  for (const family of families) for (const name of family) out.set(name, family[0])
  return out
}

const platformFamily = familyIndex(PLATFORMS)
const archFamily = familyIndex(ARCHES)

/** canonicalPlatform is the updater's spelling of a platform key (`macos` → `darwin`); unknown keys stay. */
export function canonicalPlatform(key: string): string {
  const k = key.toLowerCase()
  return platformFamily.get(k) ?? k
}

/** canonicalArch is the updater's spelling of an arch key (`amd64` → `x86_64`); unknown keys stay. */
export function canonicalArch(key: string): string {
  const k = key.toLowerCase()
  return archFamily.get(k) ?? k
}

const endsWith = (filename: string, suffix: string) => filename.toLowerCase().endsWith(suffix)

/** isSignatureFile: a detached signature (`<bundle>.sig`), never itself an update. */
export function isSignatureFile(filename: string, filetype: string | null): boolean {
  return filetype?.toLowerCase() === 'sig' || endsWith(filename, '.sig')
}

/**
 * bundlePreference orders two files of one release for the updater, best first (a negative number when `a` is
 * better), by Keygen's rules: a `.zip`/`.gz` archive first (Tauri v1 bundles: `.app.tar.gz`,
 * `.AppImage.tar.gz`, `.nsis.zip`, `.msi.zip`), then `.nsis.zip` (over the deprecated `.msi.zip`), then `.exe`
 * (over `.msi` for Tauri v2, which uploads raw installers). Files equal by these rules compare 0; the caller
 * breaks the tie (newest first).
 */
export function bundlePreference(a: string, b: string): number {
  const rank = (f: string) => [
    endsWith(f, '.zip') || endsWith(f, '.gz') ? 1 : 0,
    endsWith(f, '.nsis.zip') ? 1 : 0,
    endsWith(f, '.exe') ? 1 : 0,
  ]
  const ra = rank(a)
  const rb = rank(b)
  for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return rb[i] - ra[i]
  return 0
}
