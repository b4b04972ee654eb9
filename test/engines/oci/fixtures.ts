import type { Executor } from '../../../gateway/catalog/accounts.ts'
import type { AccountRow, ArtifactRow, ReleaseRow } from '../../../gateway/catalog/types.ts'
import type { BlobStore } from '../../../gateway/storage/blob-store.ts'
import { artifactKey } from '../../../gateway/storage/keys.ts'
import { enqueueProcessUpload } from '../../../workers/kinds.ts'
import { createWorker } from '../../../workers/index.ts'
import type { Catalog } from '../../../gateway/catalog/db.ts'
import { createTestGateway, type TestGateway } from '../../helpers/app.ts'
import { buildTar } from '../../helpers/fixtures.ts'
import { OCI_INDEX, OCI_MANIFEST, type SynthImage, synthImage } from '../../helpers/oci-image.ts'
import {
  seedAccount,
  seedArtifact,
  seedEntitlement,
  seedLicense,
  seedPackage,
  seedPolicy,
  seedProduct,
  seedRelease,
  seedToken,
} from '../../helpers/seed.ts'

const silent = { debug() {}, info() {}, warn() {}, error() {} }

export const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`

/**
 * publishImage uploads an image layout tarball as an artifact of a release (WAITING, as the API creates it) and
 * runs the real workers (process-upload, then oci-ingest) until they are idle; the artifact ends UPLOADED.
 */
export async function publishImage(
  env: { catalog: Catalog; blobs: BlobStore; account: Pick<AccountRow, 'id'> },
  release: ReleaseRow,
  image: Pick<SynthImage, 'entries'> | Buffer,
  filename = 'image.tar',
): Promise<ArtifactRow> {
  const tar = Buffer.isBuffer(image) ? image : await buildTar(image.entries)
  const db: Executor = env.catalog.db
  const artifact = await seedArtifact(db, env.account, { release, filename, filetype: 'tar', status: 'WAITING' })
  await env.blobs.write(artifactKey(env.account.id, release.id, filename), tar, { size: tar.length })
  await enqueueProcessUpload(db, artifact)
  const worker = createWorker({ catalog: env.catalog, blobs: env.blobs, config: { retryBaseMs: 0 }, log: silent })
  for (let i = 0; i < 20 && (await worker.tick()) > 0; i++);
  const row = await db.selectFrom('artifacts').selectAll().where('id', '=', artifact.id).executeTakeFirstOrThrow()
  if (row.status !== 'UPLOADED') throw new Error(`image not ingested: ${row.status} ${row.status_reason}`)
  return row
}

export const KEY = 'OCI-LICENSE-KEY-0001'
export const KEY_ENTITLED = 'OCI-LICENSE-KEY-0002'
export const KEY_OTHER = 'OCI-LICENSE-KEY-0003'
export const KEY_SUSPENDED = 'OCI-LICENSE-KEY-0004'
/** skopeo's six Accept lines, as Node joins them. */
export const SKOPEO_ACCEPT = [
  OCI_MANIFEST,
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  OCI_INDEX,
].join(', ')
/** The challenge of inject()'s default Host, `localhost:80`. */
export const CHALLENGE = 'Bearer realm="http://localhost:80/v2/token",service="pkgway"'
export const scoped = (name: string) => `${CHALLENGE},scope="repository:${name}:pull"`
export const license = (key = KEY) => ({ authorization: basic('license', key) })
export const errorBody = (code: string, message: string, detail: unknown = null) => ({
  errors: [{ code, message, detail }],
})

export interface RegistryFixture {
  gw: TestGateway
  /** app 1.0.0 (tag latest): an index of amd64 (+ an absent arm64) and an attestation, and a signature referrer. */
  latest: SynthImage
  /** app 2.0.0 (tag insider), constrained by the INSIDER entitlement. */
  insider: SynthImage
  /** app 3.0.0, a DRAFT. */
  draft: SynthImage
  /** open-app 1.0.0 of an OPEN product. */
  open: SynthImage
  /** Account `acme`: tool 1.0.0 of an OPEN product. */
  acme: { slug: string; image: SynthImage }
  productToken: string
}

/**
 * openRegistry builds a gateway (SQLite, filesystem store) whose default account has the oci packages `app`
 * (LICENSED product `demo`: licenses KEY, KEY_ENTITLED with INSIDER, KEY_SUSPENDED; a product token) and
 * `open-app` (OPEN), a pypi package `wheels`, a product `other` with license KEY_OTHER, and an account `acme`
 * with an OPEN oci package `tool`; every image is ingested by the real workers.
 */
export async function openRegistry(): Promise<RegistryFixture> {
  const gw = await createTestGateway()
  const db = gw.catalog.db
  const account = gw.account
  const env = { catalog: gw.catalog, blobs: gw.blobs, account }
  const entitlement = await seedEntitlement(db, account, { code: 'INSIDER' })
  const product = await seedProduct(db, account, { strategy: 'LICENSED', code: 'demo' })
  const policy = await seedPolicy(db, account, { product, authenticationStrategy: 'MIXED' })
  await seedLicense(db, account, { policy, key: KEY })
  await seedLicense(db, account, { policy, key: KEY_ENTITLED, entitlements: [entitlement] })
  await seedLicense(db, account, { policy, key: KEY_SUSPENDED, suspended: true })
  const productToken = (await seedToken(db, account, { bearerType: 'product', bearer: product })).raw
  const app = await seedPackage(db, account, { product, key: 'app', engine: 'oci' })
  const release = (version: string, over: Partial<Parameters<typeof seedRelease>[2]> = {}) =>
    seedRelease(db, account, { product, package: app, version, status: 'PUBLISHED', ...over })
  const latest = synthImage({ index: true, attestation: true, referrer: true })
  const insider = synthImage({ layerBytes: Buffer.alloc(2048, 2) })
  const draft = synthImage({ layerBytes: Buffer.alloc(2048, 3) })
  await publishImage(env, await release('1.0.0', { tag: 'latest' }), latest)
  await publishImage(env, await release('2.0.0', { tag: 'insider', constraints: [entitlement] }), insider)
  await publishImage(env, await release('3.0.0', { status: 'DRAFT' }), draft)

  const pub = await seedProduct(db, account, { strategy: 'OPEN', code: 'pub' })
  const openApp = await seedPackage(db, account, { product: pub, key: 'open-app', engine: 'oci' })
  const open = synthImage({ layerBytes: Buffer.alloc(2048, 4) })
  await publishImage(
    env,
    await seedRelease(db, account, { product: pub, package: openApp, version: '1.0.0', status: 'PUBLISHED' }),
    open,
  )
  await seedPackage(db, account, { product: pub, key: 'wheels', engine: 'pypi' })

  const other = await seedProduct(db, account, { strategy: 'LICENSED', code: 'other' })
  await seedLicense(db, account, {
    policy: await seedPolicy(db, account, { product: other, authenticationStrategy: 'MIXED' }),
    key: KEY_OTHER,
  })

  const acmeAccount = await seedAccount(db, 'acme')
  const acmeProduct = await seedProduct(db, acmeAccount, { strategy: 'OPEN', code: 'tools' })
  const tool = await seedPackage(db, acmeAccount, { product: acmeProduct, key: 'tool', engine: 'oci' })
  const acmeImage = synthImage({ layerBytes: Buffer.alloc(2048, 5) })
  const acmeRelease: ReleaseRow = await seedRelease(db, acmeAccount, {
    product: acmeProduct,
    package: tool,
    version: '1.0.0',
    status: 'PUBLISHED',
  })
  await publishImage({ ...env, account: acmeAccount }, acmeRelease, acmeImage)
  return { gw, latest, insider, draft, open, acme: { slug: 'acme', image: acmeImage }, productToken }
}
