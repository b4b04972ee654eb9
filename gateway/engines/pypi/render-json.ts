import type { IndexEntry } from './render-html.ts'
import type { ProjectView } from './project.ts'

/**
 * PEP 691 JSON pages, API version 1.1 (PEP 700: `versions`, `size`, `upload-time`), with PEP 714's
 * `core-metadata`. PEP 691's original `dist-info-metadata` key is deliberately absent: pip before 23.2 (Debian
 * 12 ships 23.0.1) reads its dict value as a string and crashes with "unhashable type: 'dict'", which is why
 * PEP 714 renamed it. Those pips ignore `core-metadata` and download wheels to read metadata, exactly as they
 * do against pypi.org (and pip 23.0's PEP 658 name check compares names case-sensitively, so serving them
 * metadata would break `pip install Vendor_Pkg`).
 * see: https://peps.python.org/pep-0691/#json-serialization · https://peps.python.org/pep-0700/ ·
 * https://peps.python.org/pep-0714/
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
      return {
        filename: f.filename,
        url: f.url,
        hashes: f.sha256 ? { sha256: f.sha256 } : {},
        ...(f.requiresPython ? { 'requires-python': f.requiresPython } : {}),
        ...(f.size !== null ? { size: f.size } : {}),
        'upload-time': f.uploadTime,
        'core-metadata': f.coreMetadataSha256 ? { sha256: f.coreMetadataSha256 } : false,
        yanked: f.yanked,
      }
    }),
  })
}
