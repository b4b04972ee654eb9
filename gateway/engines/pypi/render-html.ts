import type { ProjectView } from './project.ts'

/**
 * PEP 503 HTML pages, API version 1.1 (PEP 700), with PEP 658/714 core-metadata attributes. Every value that
 * came from a vendor (names, filenames, Requires-Python, URLs) is escaped for text and attribute context.
 * see: https://peps.python.org/pep-0503/ · https://peps.python.org/pep-0658/ · https://peps.python.org/pep-0714/
 */

/** A project on the index page. */
export interface IndexEntry {
  /** Package id (for visibility comparisons). */
  id: string
  /** Display name (the package key). */
  name: string
  /** Absolute URL of the project page. */
  url: string
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** escapeHtml makes text safe in element content and in double- or single-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ENTITIES[c])
}

function page(title: string, lines: string[]): string {
  const t = escapeHtml(title)
  return [
    '<!DOCTYPE html>',
    '<html>',
    '  <head>',
    '    <meta name="pypi:repository-version" content="1.1">',
    `    <title>${t}</title>`,
    '  </head>',
    '  <body>',
    `    <h1>${t}</h1>`,
    ...lines.map((l) => `    ${l}`),
    '  </body>',
    '</html>',
    '',
  ].join('\n')
}

/** renderIndexHtml lists projects, one anchor each, in the given order. */
export function renderIndexHtml(title: string, entries: readonly IndexEntry[]): string {
  return page(
    title,
    entries.map((e) => `<a href="${escapeHtml(e.url)}">${escapeHtml(e.name)}</a><br>`),
  )
}

/** renderProjectHtml lists a project's files with hash fragment, Requires-Python and core-metadata hints. */
export function renderProjectHtml(view: ProjectView): string {
  const lines = view.files.map((f) => {
    const href = f.sha256 ? `${f.url}#sha256=${f.sha256}` : f.url
    const attrs = [`href="${escapeHtml(href)}"`]
    if (f.requiresPython) attrs.push(`data-requires-python="${escapeHtml(f.requiresPython)}"`)
    if (f.coreMetadataSha256) {
      attrs.push(`data-dist-info-metadata="sha256=${f.coreMetadataSha256}"`)
      attrs.push(`data-core-metadata="sha256=${f.coreMetadataSha256}"`)
    }
    if (f.yanked) attrs.push('data-yanked=""')
    return `<a ${attrs.join(' ')}>${escapeHtml(f.filename)}</a><br>`
  })
  return page(`Links for ${view.name}`, lines)
}
