import type { ArtifactStatus } from '../../gateway/catalog/types.ts'
import { createWorker } from '../../workers/index.ts'
import { enqueueProcessUpload } from '../../workers/kinds.ts'
import type { WorkerLogger } from '../../workers/runner.ts'
import type { TestGateway } from './app.ts'
import { seedProduct, seedRelease } from './seed.ts'

const quiet: WorkerLogger = { debug() {}, info() {}, warn() {}, error() {} }

export interface CreatedUpload {
  /** The artifact's id. */
  id: string
  /** The upload URL the API answered (Location). */
  url: string
  /** The artifact's served key. */
  served: string
}

/** draftRelease seeds a product and a draft release in the gateway's default account. */
export async function draftRelease(gw: TestGateway): Promise<{ productId: string; releaseId: string }> {
  const product = await seedProduct(gw.catalog.db, gw.account, { name: 'Uploads' })
  const release = await seedRelease(gw.catalog.db, gw.account, { product })
  return { productId: product.id, releaseId: release.id }
}

/**
 * createUpload creates an artifact through the API (POST /v1/artifacts as the admin) and returns its upload URL,
 * with the host of the listening gateway (so real clients can PUT to it).
 */
export async function createUpload(
  gw: TestGateway,
  releaseId: string,
  attributes: { filename: string; filesize?: number; checksum?: string },
): Promise<CreatedUpload> {
  const res = await gw.app.inject({
    method: 'POST',
    url: '/v1/artifacts',
    headers: {
      authorization: `Bearer ${gw.adminToken}`,
      'content-type': 'application/vnd.api+json',
      ...(gw.url ? { host: new URL(gw.url).host } : {}),
    },
    payload: {
      data: {
        type: 'artifacts',
        attributes,
        relationships: { release: { data: { type: 'releases', id: releaseId } } },
      },
    },
  })
  if (res.statusCode !== 307) throw new Error(`POST /v1/artifacts answered ${res.statusCode}: ${res.body}`)
  return {
    id: res.json().data.id,
    url: res.headers.location as string,
    served: `artifacts/${gw.account.id}/${releaseId}/${attributes.filename}`,
  }
}

/** processUpload runs the artifact's verification as the workers would (also for presigned uploads) and returns its status. */
export async function processUpload(gw: TestGateway, artifactId: string): Promise<ArtifactStatus> {
  await enqueueProcessUpload(gw.catalog.db, { id: artifactId, account_id: gw.account.id })
  const worker = createWorker({ catalog: gw.catalog, blobs: gw.blobs, config: { retryBaseMs: 0 }, log: quiet })
  for (let i = 0; i < 20 && (await worker.tick()) > 0; i++);
  return (await artifactStatus(gw, artifactId)).status
}

/** artifactStatus reads an artifact's status and reason from the catalog. */
export async function artifactStatus(
  gw: TestGateway,
  artifactId: string,
): Promise<{ status: ArtifactStatus; reason: string | null }> {
  const row = await gw.catalog.db
    .selectFrom('artifacts')
    .select(['status', 'status_reason'])
    .where('id', '=', artifactId)
    .executeTakeFirstOrThrow()
  return { status: row.status, reason: row.status_reason }
}
