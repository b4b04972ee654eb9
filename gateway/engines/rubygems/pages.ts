import { MANIFEST_TYPES } from '../../../formats/manifest-types.ts'
import { readGemspec } from '../../../formats/rubygems/gemspec.ts'
import { quickGemspec } from '../../../formats/rubygems/marshal.ts'
import { ANONYMOUS, type Principal } from '../../auth/principal.ts'
import type { ArtifactRow } from '../../catalog/types.ts'
import { cacheKey, IndexCache } from '../../cache/index-cache.ts'
import type { AccountSnapshot } from '../../read-model/account-snapshot.ts'
import type { ReadModel } from '../../read-model/read-model.ts'
import { visibilityClass } from '../../read-model/visibility.ts'
import { type RenderedBody, renderedBody } from '../rendered.ts'
import { gemFiles, visibleGems } from './gems.ts'
import { BINARY, type IndexKind, renderIndex } from './indexes.ts'

/** What an index request knows once authenticated. */
export interface IndexContext {
  snap: AccountSnapshot
  principal: Principal
  now: number
}

/** A rendered index file (null: nothing to show), and whether the caller sees no gem at all. */
export interface IndexPage {
  page: RenderedBody | null
  empty: boolean
}

/**
 * RubygemsPages renders each index file once per content revision and visibility class (`quick/` gemspecs once
 * per revision and artifact: they are the same for everyone allowed to see them) and keeps the bytes, bounded by
 * size. A warm request makes no catalog round trip and renders nothing.
 */
export class RubygemsPages {
  readonly #cache = new IndexCache<IndexPage>({
    max: 20_000,
    maxSize: 128 * 1024 * 1024,
    sizeOf: (v) => 256 + (v.page?.body.length ?? 0),
  })

  constructor(readonly model: ReadModel) {}

  /** index renders `kind` as the principal sees it. */
  index(ctx: IndexContext, kind: IndexKind): Promise<IndexPage> | IndexPage {
    const cls = visibilityClass(ctx.principal, ctx.now)
    const key = cacheKey('rubygems', ctx.snap.accountId, ctx.snap.serial, cls, kind)
    return (
      this.#cache.get(key) ??
      this.#cache.getOrLoad(key, async () => {
        const files = await gemFiles(this.model, ctx.snap)
        const visible = visibleGems(ctx.principal, files, ctx.now)
        const rendered = renderIndex(kind, visible)
        if (!rendered) return { page: null, empty: visible.length === 0 }
        const body = typeof rendered.body === 'string' ? Buffer.from(rendered.body) : rendered.body
        // Public when an anonymous caller would get the very same bytes.
        const anonymous =
          ctx.principal.kind === 'anonymous' ? rendered : renderIndex(kind, visibleGems(ANONYMOUS, files, ctx.now))
        const isPublic = anonymous !== null && Buffer.from(anonymous.body).equals(body)
        return { page: renderedBody(body, rendered.type, isPublic), empty: visible.length === 0 }
      })
    )
  }

  /**
   * quick renders `quick/Marshal.4.8/<gem>.gemspec.rz` of a gem artifact from its stored gemspec, or null when it
   * has none; `isPublic` says whether anonymous callers may see the artifact.
   */
  quick(snap: AccountSnapshot, row: ArtifactRow, isPublic: boolean): Promise<IndexPage> | IndexPage {
    const key = cacheKey('rubygems-quick', snap.accountId, snap.serial, row.id, String(isPublic))
    return (
      this.#cache.get(key) ??
      this.#cache.getOrLoad(key, async () => {
        const manifests = await this.model.manifests(
          snap,
          `rubygems:gemspec:${row.id}`,
          [row.id],
          MANIFEST_TYPES.gemspec,
        )
        const yaml = manifests.get(row.id)?.at(-1)?.content
        if (yaml === undefined) return { page: null, empty: false }
        const body = quickGemspec(readGemspec(yaml))
        return { page: renderedBody(body, BINARY, isPublic), empty: false }
      })
    )
  }
}
