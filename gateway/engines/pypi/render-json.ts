import type { IndexEntry } from './render-html.ts'
import type { ProjectView } from './project.ts'

/**
 * PEP 691 JSON pages, API version 1.1 (PEP 700: `versions`, `size`, `upload-time`), with PEP 714's
 * `core-metadata` and, for older clients, the same value under PEP 691's original `dist-info-metadata` key.
 * see: https://peps.python.org/pep-0691/#json-serialization · https://peps.python.org/pep-0700/
 */

const META = { 'api-version': '1.1' }

/** renderIndexJson: `{"meta":{"api-version":"1.1"},"projects":[{"name":…}]}`. */
export function renderIndexJson(entries: readonly IndexEntry[]): string {
  return JSON.stringify({ meta: META, projects: entries.map((e) => ({ name: e.name })) })
}

/** renderProjectJson: name, versions and files, in the same order as the HTML page. */
export function renderProjectJson(view: ProjectView): string {
  return JSON.stringify({
    meta: META,
    name: view.name,
    versions: view.versions,
    files: view.files.map((f) => {
      const metadata = f.coreMetadataSha256 ? { sha256: f.coreMetadataSha256 } : false
      return {
        filename: f.filename,
        url: f.url,
        hashes: f.sha256 ? { sha256: f.sha256 } : {},
        ...(f.requiresPython ? { 'requires-python': f.requiresPython } : {}),
        ...(f.size !== null ? { size: f.size } : {}),
        'upload-time': f.uploadTime,
        'core-metadata': metadata,
        'dist-info-metadata': metadata,
        yanked: f.yanked,
      }
    }),
  })
}
