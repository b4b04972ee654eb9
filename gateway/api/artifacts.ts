import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { canChooseDownloadTtl, canManageProduct, isDownloadable } from '../auth/policy.ts'
import { requireAuth } from '../auth/plugin.ts'
import { isUuid, writeCatalog } from '../catalog/accounts.ts'
import { newId, now } from '../catalog/db.ts'
import { releaseById } from '../catalog/aliases.ts'
import {
  artifactById,
  artifactIdWithFilename,
  deleteArtifact,
  insertArtifact,
  updateArtifact,
} from '../catalog/artifacts.ts'
import type { ArtifactRow } from '../catalog/types.ts'
import { badRequest, forbidden } from '../errors.ts'
import { validateKey } from '../storage/blob-store.ts'
import { proxyBlob } from '../storage/delivery.ts'
import { artifactKey, sealedKey, uploadKey } from '../storage/keys.ts'
import { signedBlobUrl } from '../storage/signed-url.ts'
import { artifactEvents } from './artifact-events.ts'
import { removeBlobs } from './blob-cleanup.ts'
import {
  type AttrSpecs,
  metadataIn,
  parseResource,
  relationshipId,
  sendDocument,
  unprocessableAttr,
} from './jsonapi.ts'
import {
  type ArtifactFilters,
  artifactFiltersFromQuery,
  artifactNotFound,
  findArtifact,
  findRelease,
  type LoadedArtifact,
  listArtifacts,
  packagesOfEngine,
  snapshotOf,
} from './lookup.ts'
import { param, parsePage } from './pagination.ts'
import { sendList } from './list.ts'
import { artifactResource } from './serializers.ts'
import { insertUnique } from './unique.ts'

const MAX_FILESIZE = 5 * 1024 ** 3

const createAttrs: AttrSpecs = {
  filename: { kind: 'string', max: 255 },
  filetype: { kind: 'string', nullable: true, max: 255 },
  filesize: { kind: 'integer', nullable: true },
  platform: { kind: 'string', nullable: true, max: 255 },
  arch: { kind: 'string', nullable: true, max: 255 },
  checksum: { kind: 'string', nullable: true, max: 4096 },
  signature: { kind: 'string', nullable: true, max: 4096 },
  metadata: { kind: 'object', nullable: true },
}
const updateAttrs: AttrSpecs = {
  filesize: createAttrs.filesize,
  checksum: createAttrs.checksum,
  signature: createAttrs.signature,
  metadata: createAttrs.metadata,
}

/** Keygen's `Prefer` header or `?prefer=` query parameter (array values are ignored). */
function prefers(request: FastifyRequest, what: 'no-redirect' | 'no-download'): boolean {
  const header = request.headers.prefer
  const q = (request.query as Record<string, unknown>)?.prefer
  return (typeof header === 'string' && header.split(',').some((p) => p.trim() === what)) || q === what
}

const lowerTrim = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim().toLowerCase() : null)

function checkFilesize(v: unknown): number | null {
  if (v === undefined || v === null) return null
  const n = v as number
  if (n < 0 || n > MAX_FILESIZE) {
    throw unprocessableAttr('FILESIZE_INVALID', 'must be between 0 and 5368709120', '/data/attributes/filesize')
  }
  return n
}

async function createArtifact(request: FastifyRequest, reply: FastifyReply) {
  requireAuth(request)
  const { db } = request.server.catalog
  const input = parseResource(request.body, 'artifacts', createAttrs, ['release'])
  const a = input.attributes
  const releaseId = relationshipId(input, 'release', 'releases')
  if (!releaseId || !isUuid(releaseId))
    throw unprocessableAttr('RELEASE_NOT_FOUND', 'must exist', '/data/relationships/release')
  const release = await releaseById(db, request.account.id, releaseId.toLowerCase())
  if (!release) throw unprocessableAttr('RELEASE_NOT_FOUND', 'must exist', '/data/relationships/release')
  // The release is named in the body, not looked up in scope: another product's release is a 403.
  if (!canManageProduct(request.principal, release.product_id)) throw forbidden()

  if (typeof a.filename !== 'string' || a.filename.length === 0) {
    throw badRequest('is missing', { pointer: '/data/attributes/filename' }, 'PARAMETER_MISSING')
  }
  const filename = a.filename
  try {
    validateKey(filename, 'artifact')
  } catch {
    throw unprocessableAttr(
      'FILENAME_INVALID',
      'must be a relative path without empty, . or .. segments',
      '/data/attributes/filename',
    )
  }
  if (filename.split('/')[0] === 'blobs') {
    // Reserved: OCI image blobs are stored under <release>/blobs/ (storage/keys.ts).
    throw unprocessableAttr('FILENAME_INVALID', 'must not start with blobs/ (reserved)', '/data/attributes/filename')
  }
  const filetype = lowerTrim(a.filetype)?.replace(/^\.+/, '') || null
  if (filetype && filename.includes('.') && !filename.toLowerCase().endsWith(`.${filetype}`)) {
    throw unprocessableAttr(
      'FILENAME_EXTENSION_INVALID',
      'filename extension does not match filetype',
      '/data/attributes/filename',
    )
  }
  const ts = now()
  const id = newId()
  const upload = uploadKey(request.account.id, release.id, id)
  const row: ArtifactRow = {
    id,
    account_id: request.account.id,
    release_id: release.id,
    filename,
    filetype,
    platform: lowerTrim(a.platform),
    arch: lowerTrim(a.arch),
    filesize: checkFilesize(a.filesize),
    checksum: (a.checksum as string | null | undefined) ?? null,
    signature: (a.signature as string | null | undefined) ?? null,
    status: 'WAITING',
    status_reason: null,
    content_length: null,
    sha256: null,
    sha512: null,
    metadata: a.metadata === undefined ? '{}' : metadataIn(a.metadata, '/data/attributes/metadata'),
    created_at: ts,
    updated_at: ts,
    upload_key: upload,
  }
  await writeCatalog(
    db,
    row.account_id,
    async (trx) => {
      if (await artifactIdWithFilename(trx, row.release_id, filename)) {
        throw unprocessableAttr('FILENAME_TAKEN', 'has already been taken', '/data/attributes/filename')
      }
      await insertUnique(() => insertArtifact(trx, row))
      await artifactEvents(request.server).created(trx, row)
    },
    'content',
  )
  const { config, signingKeys } = request.server
  // The keygen CLI PUTs to this URL verbatim: it must be absolute. see: ../shared/spec/keygen-cli-wire.md §4
  const baseUrl = request.server.absoluteBase(request)
  // Every upload goes through the gateway's own signed PUT route, which streams it into any store: only there can
  // an upload be taken once (a second PUT is a 409, whatever the store), bounded by the declared size, and timed
  // out when it stalls; S3 would accept any number of PUTs to a presigned URL until it expires (and refuses the
  // keygen CLI's chunked PUT of unsized files). The URL names the artifact's upload key, never the served one:
  // the worker promotes the bytes once verified.
  const url = signedBlobUrl(signingKeys.current(), baseUrl, 'PUT', upload, config.storage.uploadTtl)
  // Echo filesize and filetype exactly as sent: the keygen CLI decodes them into its upload request, and the
  // echoed filesize becomes the PUT's Content-Length. see: ../shared/spec/keygen-cli-wire.md §2.2
  const doc = artifactResource(row, {
    redirect: url,
    filetype: a.filetype === undefined ? row.filetype : (a.filetype as string | null),
    filesize: a.filesize === undefined ? row.filesize : (a.filesize as number | null),
  })
  reply.header('Location', url)
  return sendDocument(request, reply, prefers(request, 'no-redirect') ? 200 : 307, { data: doc })
}

/** downloadTtl honours `?ttl=` (60 s to 1 week) for staff and product bearers only, as Keygen does. */
function downloadTtl(request: FastifyRequest): number | undefined {
  const raw = param(request.query, 'ttl')
  if (raw === undefined || !canChooseDownloadTtl(request.principal)) return undefined
  if (!/^\d{1,7}$/.test(raw) || Number(raw) < 60 || Number(raw) > 604800) {
    throw badRequest('must be between 60 and 604800 seconds', { parameter: 'ttl' }, 'TTL_INVALID')
  }
  return Number(raw)
}

/**
 * sendArtifact answers a download: 303 to the storage URL (or the bytes when delivery is `proxy`), or the
 * artifact document when it is not downloadable or the client prefers no download.
 * see: ../shared/spec/engines.md §3
 */
export async function sendArtifact(request: FastifyRequest, reply: FastifyReply, found: LoadedArtifact) {
  const { row, release } = found
  if (!isDownloadable(release.facts, row) || prefers(request, 'no-download')) {
    return sendDocument(request, reply, 200, { data: artifactResource(row) })
  }
  const key = artifactKey(row.account_id, row.release_id, row.filename)
  const { config, blobs } = request.server
  const filename = row.filename.split('/').pop()
  if (config.storage.delivery === 'proxy' && !prefers(request, 'no-redirect'))
    return proxyBlob(request, reply, key, filename)
  const url = await blobs.redirectUrl(key, 'GET', {
    baseUrl: request.server.linkBase,
    ttl: downloadTtl(request),
    filename,
  })
  reply.header('Location', url)
  return sendDocument(request, reply, prefers(request, 'no-redirect') ? 200 : 303, redirectDocument(row, url))
}

/** The last redirect document of each artifact row: rows belong to one snapshot, and URLs are reused a while. */
const redirectDocuments = new WeakMap<ArtifactRow, { url: string; json: string }>()

/**
 * redirectDocument is the artifact's JSON:API document with its `redirect` link, serialized: the same row and the
 * same signed URL (the store reuses one while more than half its lifetime is left) give the same bytes, so a warm
 * download serializes nothing.
 */
function redirectDocument(row: ArtifactRow, url: string): string {
  const last = redirectDocuments.get(row)
  if (last?.url === url) return last.json
  const json = JSON.stringify({ data: artifactResource(row, { redirect: url }) })
  redirectDocuments.set(row, { url, json })
  return json
}

type IdParams = { id: string }

/** artifactList is what an artifact list shows the caller, with the `engine` filter applied. */
async function artifactList(request: FastifyRequest, filters: ArtifactFilters): Promise<ArtifactRow[]> {
  const found = await listArtifacts(request, filters)
  const engine = param(request.query, 'engine')
  if (engine === undefined) return found.map((a) => a.row)
  const packageIds = packagesOfEngine(await snapshotOf(request), engine)
  return found
    .filter(({ release }) => (release.row.package_id ? packageIds.has(release.row.package_id) : engine === ''))
    .map((a) => a.row)
}

export async function artifactRoutes(fastify: FastifyInstance) {
  fastify.post('/artifacts', (request, reply) => createArtifact(request, reply))

  fastify.get('/artifacts', async (request, reply) => {
    const page = parsePage(request.query)
    const rows = await artifactList(request, artifactFiltersFromQuery(request.query))
    return sendList(request, reply, page, rows, (r) => artifactResource(r))
  })

  // `/artifacts/<id or filename>` (filenames may contain `/`) and the "vanity" `/artifacts/<uuid>/<filename>`
  // that engines hand to package managers; there the filename must be the artifact's own.
  fastify.get<{ Params: { '*': string } }>('/artifacts/*', { config: { replay: true } }, async (request, reply) => {
    const path = request.params['*']
    const slash = path.indexOf('/')
    const head = slash === -1 ? path : path.slice(0, slash)
    if (slash !== -1 && isUuid(head)) {
      const found = await findArtifact(request, head)
      if (found.row.filename !== path.slice(slash + 1)) throw artifactNotFound(path.slice(slash + 1))
      return sendArtifact(request, reply, found)
    }
    return sendArtifact(request, reply, await findArtifact(request, path, artifactFiltersFromQuery(request.query)))
  })

  fastify.get<{ Params: { release: string; id: string } }>('/releases/:release/artifacts', async (request, reply) => {
    const release = await findRelease(request, request.params.release)
    const page = parsePage(request.query)
    const rows = await artifactList(request, { ...artifactFiltersFromQuery(request.query), release: release.row.id })
    return sendList(request, reply, page, rows, (r) => artifactResource(r))
  })

  fastify.get<{ Params: { release: string; '*': string } }>(
    '/releases/:release/artifacts/*',
    async (request, reply) => {
      const release = await findRelease(request, request.params.release)
      return sendArtifact(request, reply, await findArtifact(request, request.params['*'], { release: release.row.id }))
    },
  )

  fastify.patch<{ Params: IdParams }>('/artifacts/:id', async (request, reply) => {
    requireAuth(request)
    const input = parseResource(request.body, 'artifacts', updateAttrs)
    const found = await findArtifact(request, request.params.id, artifactFiltersFromQuery(request.query))
    if (!canManageProduct(request.principal, found.release.row.product_id)) throw forbidden()
    const a = input.attributes
    const patch: Partial<ArtifactRow> = { updated_at: now() }
    if ('filesize' in a) patch.filesize = checkFilesize(a.filesize)
    if ('checksum' in a) patch.checksum = a.checksum as string | null
    if ('signature' in a) patch.signature = a.signature as string | null
    if ('metadata' in a) patch.metadata = metadataIn(a.metadata, '/data/attributes/metadata')
    const { db } = fastify.catalog
    const id = found.row.id
    const row = await writeCatalog(
      db,
      found.row.account_id,
      async (trx) => {
        await updateArtifact(trx, id, patch)
        if ('filesize' in a || 'checksum' in a) await artifactEvents(fastify).changed(trx, { ...found.row, ...patch })
        return artifactById(trx, id)
      },
      'content',
    )
    return sendDocument(request, reply, 200, { data: artifactResource(row) })
  })

  fastify.delete<{ Params: { '*': string } }>('/artifacts/*', async (request, reply) => {
    requireAuth(request)
    const found = await findArtifact(request, request.params['*'], artifactFiltersFromQuery(request.query))
    if (!canManageProduct(request.principal, found.release.row.product_id)) throw forbidden()
    const { row } = found
    await writeCatalog(
      fastify.catalog.db,
      row.account_id,
      async (trx) => {
        await deleteArtifact(trx, row.id)
      },
      'content',
    )
    const keys = [artifactKey(row.account_id, row.release_id, row.filename)]
    if (row.upload_key) keys.push(row.upload_key, sealedKey(row.upload_key))
    await removeBlobs(request, { keys })
    return reply.code(204).send()
  })
}
