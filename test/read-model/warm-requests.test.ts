import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { catalogKinds } from '../helpers/catalog.ts'
import { createTestGateway, StatementCounter, type TestGateway } from '../helpers/app.ts'
import { seedLicense, seedPackage, seedPolicy, seedProduct, seedRelease, seedToken } from '../helpers/seed.ts'
import { basicAuth, coreMetadata, PIP_ACCEPT, seedFile, sha256 } from '../engines/pypi/fixtures.ts'
import { seedBundles, UPDATER_HEADERS } from '../engines/tauri/fixtures.ts'
import { fakeSignature } from '../engines/tauri/updater-schema.ts'
import { seedGem } from '../engines/rubygems/fixtures.ts'
import { MANIFEST_TYPES } from '../../formats/manifest-types.ts'
import { seedArtifact, seedManifest } from '../helpers/seed.ts'
import { publishImage } from '../engines/oci/fixtures.ts'
import { OCI_INDEX, OCI_MANIFEST, synthImage } from '../helpers/oci-image.ts'

const KEY = 'WARM-KEY-0000-0000-0001'

interface Case {
  name: string
  url: string
  headers?: Record<string, string>
  status: number
}

/**
 * Warm requests are served from memory: once a request has been answered, the same kind of request by the same
 * kind of caller makes no catalog round trip at all, on SQLite and PostgreSQL alike. A write is seen by the next
 * request, which reads again once.
 */
describe.each(catalogKinds)('warm requests on %s', (kind) => {
  let gw: TestGateway
  const counter = new StatementCounter()
  const cases: Case[] = []
  let licensed: { product: string; pkg: string }

  beforeAll(async () => {
    gw = await createTestGateway({ catalog: kind, counter })
    const db = gw.catalog.db
    const account = gw.account
    const product = await seedProduct(db, account, { strategy: 'LICENSED', code: 'warm-app' })
    const open = await seedProduct(db, account, { strategy: 'OPEN', code: 'warm-open' })
    const policy = await seedPolicy(db, account, { product, authenticationStrategy: 'MIXED' })
    const license = await seedLicense(db, account, { policy, key: KEY })
    const { raw: licenseToken } = await seedToken(db, account, { bearerType: 'license', bearer: license })
    const pkg = await seedPackage(db, account, { product, key: 'warm-pkg', engine: 'pypi' })
    licensed = { product: product.id, pkg: pkg.id }
    const release = await seedRelease(db, account, { product, package: pkg, version: '1.0.0', status: 'PUBLISHED' })
    const wheel = await seedFile(db, account, {
      release,
      filename: 'warm_pkg-1.0.0-py3-none-any.whl',
      sha256: sha256('warm'),
      coreMetadata: coreMetadata('warm-pkg', '1.0.0'),
    })
    const rawRelease = await seedRelease(db, account, { product, version: '2.0.0', status: 'PUBLISHED', tag: 'latest' })
    const binary = await seedFile(db, account, { release: rawRelease, filename: 'warm-cli_linux_amd64' })
    const openPkg = await seedPackage(db, account, { product: open, key: 'open-pkg', engine: 'pypi' })
    const openRelease = await seedRelease(db, account, {
      product: open,
      package: openPkg,
      version: '1.0.0',
      status: 'PUBLISHED',
    })
    const openWheel = await seedFile(db, account, {
      release: openRelease,
      filename: 'open_pkg-1.0.0-py3-none-any.whl',
      coreMetadata: coreMetadata('open-pkg', '1.0.0'),
    })

    const tauri = await seedPackage(db, account, { product, key: 'warm-app', engine: 'tauri' })
    for (const version of ['1.0.0', '1.1.0']) {
      const r = await seedRelease(db, account, { product, package: tauri, version, status: 'PUBLISHED' })
      await seedBundles(db, gw.blobs, account, r, [
        { filename: 'warm.AppImage.tar.gz', platform: 'linux', arch: 'x86_64' },
        {
          filename: 'warm.app.tar.gz',
          platform: 'darwin',
          arch: 'aarch64',
          signature: null,
          sigFile: fakeSignature('w'),
        },
      ])
    }
    const ociPkg = await seedPackage(db, account, { product, key: 'warm-image', engine: 'oci' })
    const ociRelease = await seedRelease(db, account, {
      product,
      package: ociPkg,
      version: '1.0.0',
      tag: 'latest',
      status: 'PUBLISHED',
    })
    const image = synthImage({ index: true, attestation: true })
    await publishImage({ catalog: gw.catalog, blobs: gw.blobs, account }, ociRelease, image)
    const tokenRes = await gw.app.inject({
      method: 'GET',
      url: '/v2/token?scope=repository%3Awarm-image%3Apull&service=pkgway',
      headers: { authorization: basicAuth('license', KEY) },
    })
    const registryToken = { authorization: `Bearer ${tokenRes.json().token}` }
    const ociAccept = `${OCI_MANIFEST}, application/vnd.docker.distribution.manifest.v2+json, ${OCI_INDEX}`

    const license_ = { authorization: basicAuth('license', KEY) }
    const updater = { ...UPDATER_HEADERS, authorization: `License ${KEY}` }
    const check = '/v1/engines/tauri/warm-app?platform=linux&arch=x86_64&version='
    const files = `/v1/accounts/${account.id}/engines/pypi/files`
    cases.push(
      {
        name: 'Raw 303 (license key)',
        url: '/v1/engines/raw/warm-app/latest/warm-cli_linux_amd64',
        headers: license_,
        status: 303,
      },
      {
        name: 'Raw 303 (?auth=)',
        url: `/v1/engines/raw/warm-app/2.0.0/warm-cli_linux_amd64?auth=license:${KEY}`,
        status: 303,
      },
      {
        name: 'artifact 303 (license key)',
        url: `/v1/artifacts/${binary.id}/warm-cli_linux_amd64`,
        headers: license_,
        status: 303,
      },
      {
        name: 'artifact 303 (license token)',
        url: `/v1/accounts/${account.id}/artifacts/${wheel.id}/${wheel.filename}`,
        headers: { authorization: `Bearer ${licenseToken}` },
        status: 303,
      },
      { name: 'licensed PyPI page (HTML)', url: '/v1/engines/pypi/simple/warm-pkg/', headers: license_, status: 200 },
      {
        name: 'licensed PyPI page (JSON)',
        url: '/v1/engines/pypi/simple/Warm_Pkg/',
        headers: { ...license_, accept: PIP_ACCEPT },
        status: 200,
      },
      { name: 'licensed PyPI index', url: '/v1/engines/pypi/simple/', headers: license_, status: 200 },
      { name: 'anonymous PyPI page', url: '/v1/engines/pypi/simple/open-pkg/', status: 200 },
      {
        name: 'licensed .metadata',
        url: `${files}/${wheel.id}/${wheel.filename}.metadata`,
        headers: license_,
        status: 200,
      },
      { name: 'anonymous .metadata', url: `${files}/${openWheel.id}/${openWheel.filename}.metadata`, status: 200 },
      { name: 'PyPI file 303', url: `${files}/${wheel.id}/${wheel.filename}`, headers: license_, status: 303 },
      { name: 'release list (license)', url: `/v1/releases?product=${product.id}`, headers: license_, status: 200 },
      { name: 'Tauri update check (License header)', url: `${check}1.0.0`, headers: updater, status: 200 },
      {
        name: 'Tauri update check (?auth=)',
        url: `${check}1.0.0&auth=license:${KEY}`,
        headers: UPDATER_HEADERS,
        status: 200,
      },
      {
        name: 'Tauri update check (signature from the .sig file)',
        url: '/v1/engines/tauri/warm-app?platform=darwin&arch=aarch64&version=1.0.0',
        headers: updater,
        status: 200,
      },
      { name: 'Tauri update check (no update: 204)', url: `${check}1.1.0`, headers: updater, status: 204 },
    )

    // npm and RubyGems: packuments, compact index files, Marshal indexes and gem redirects.
    const npmPkg = await seedPackage(db, account, { product, key: '@warm/npm-pkg', engine: 'npm' })
    const npmRelease = await seedRelease(db, account, {
      product,
      package: npmPkg,
      version: '1.0.0',
      status: 'PUBLISHED',
    })
    const tarball = await seedArtifact(db, account, { release: npmRelease, filename: 'npm-pkg-1.0.0.tgz' })
    const packageJson = '{"name":"@warm/npm-pkg","version":"1.0.0"}'
    await seedManifest(db, account, { artifact: tarball, contentType: MANIFEST_TYPES.npmPackage, content: packageJson })
    const gemPkg = await seedPackage(db, account, { product, key: 'warm_gem', engine: 'rubygems' })
    const gemRelease = await seedRelease(db, account, {
      product,
      package: gemPkg,
      version: '1.0.0',
      status: 'PUBLISHED',
    })
    const spec = { name: 'warm_gem', version: '1.0.0' }
    await seedGem(db, account, {
      release: gemRelease,
      filename: 'warm_gem-1.0.0.gem',
      spec,
      createdAt: '2024-10-01T00:00:00.000Z',
    })
    const gems = '/v1/engines/rubygems'
    const ranged = { ...license_, range: 'bytes=5-' }
    cases.push(
      { name: 'npm packument (license key)', url: '/v1/engines/npm/@warm%2fnpm-pkg', headers: license_, status: 200 },
      {
        name: 'npm packument (license token)',
        url: '/v1/engines/npm/@warm/npm-pkg',
        headers: { authorization: `Bearer ${licenseToken}` },
        status: 200,
      },
      { name: 'rubygems versions', url: `${gems}/versions`, headers: license_, status: 200 },
      { name: 'rubygems versions (206)', url: `${gems}/versions`, headers: ranged, status: 206 },
      { name: 'rubygems info', url: `${gems}/info/warm_gem`, headers: license_, status: 200 },
      { name: 'rubygems names', url: `${gems}/names`, headers: license_, status: 200 },
      { name: 'rubygems specs.4.8.gz', url: `${gems}/specs.4.8.gz`, headers: license_, status: 200 },
      {
        name: 'rubygems quick gemspec',
        url: `${gems}/quick/Marshal.4.8/warm_gem-1.0.0.gemspec.rz`,
        headers: license_,
        status: 200,
      },
      { name: 'rubygems .gem 303', url: `${gems}/gems/warm_gem-1.0.0.gem`, headers: license_, status: 303 },
      {
        name: 'OCI manifest by tag (license key)',
        url: '/v2/warm-image/manifests/latest',
        headers: { ...license_, accept: ociAccept },
        status: 200,
      },
      {
        name: 'OCI manifest by tag (registry token)',
        url: '/v2/warm-image/manifests/latest',
        headers: { ...registryToken, accept: ociAccept },
        status: 200,
      },
      {
        name: 'OCI manifest by digest',
        url: `/v2/warm-image/manifests/${image.manifest.digest}`,
        headers: { ...registryToken, accept: `${OCI_MANIFEST}, */*` },
        status: 200,
      },
      { name: 'OCI blob 307', url: `/v2/warm-image/blobs/${image.layer.digest}`, headers: registryToken, status: 307 },
      { name: 'OCI tags', url: '/v2/warm-image/tags/list', headers: license_, status: 200 },
      { name: 'OCI base (license key)', url: '/v2/', headers: license_, status: 200 },
    )
  })

  afterAll(async () => {
    await gw?.close()
  })

  const send = (c: Case, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') =>
    gw.app.inject({ method, url: c.url, headers: { ...c.headers, ...headers } })

  it('answers every case warm with zero catalog statements', async () => {
    for (const c of cases) {
      const cold = await send(c)
      expect(cold.statusCode, c.name).toBe(c.status)
      const before = counter.count
      for (let i = 0; i < 5; i++) {
        const warm = await send(c)
        expect(warm.statusCode, c.name).toBe(c.status)
        expect(warm.body, c.name).toBe(cold.body)
      }
      expect(counter.count - before, `${c.name}: statements when warm`).toBe(0)
    }
  })

  it('answers 304 revalidation of licensed pages with zero catalog statements', async () => {
    for (const name of ['licensed PyPI page (HTML)', 'npm packument (license key)', 'rubygems info']) {
      const page = cases.find((c) => c.name === name)!
      const etag = (await send(page)).headers.etag as string
      const before = counter.count
      const res = await send(page, { 'if-none-match': etag })
      expect(res.statusCode, name).toBe(304)
      expect(counter.count - before, name).toBe(0)
    }
  })

  it('answers OCI HEADs (manifest, blob) with zero catalog statements', async () => {
    for (const c of cases.filter((x) => x.name.startsWith('OCI manifest') || x.name === 'OCI blob 307')) {
      const head = await send(c, {}, 'HEAD')
      expect(head.statusCode, c.name).toBe(c.name === 'OCI blob 307' ? 200 : c.status)
      const before = counter.count
      expect((await send(c, {}, 'HEAD')).headers['docker-content-digest'], c.name).toBe(
        head.headers['docker-content-digest'],
      )
      expect(counter.count - before, `${c.name} HEAD: statements when warm`).toBe(0)
    }
  })

  it('shows a write on the next request, then serves warm again', async () => {
    const page = cases.find((c) => c.name === 'licensed PyPI page (HTML)')!
    const release = await seedRelease(gw.catalog.db, gw.account, {
      product: licensed.product,
      package: licensed.pkg,
      version: '1.1.0',
      status: 'PUBLISHED',
    })
    await seedFile(gw.catalog.db, gw.account, { release, filename: 'warm_pkg-1.1.0-py3-none-any.whl' })
    const beforeWrite = counter.count
    const fresh = await send(page)
    expect(fresh.body).toContain('warm_pkg-1.1.0-py3-none-any.whl')
    // The counter does count: the first request after the write reads the new revision's snapshot.
    expect(counter.count - beforeWrite).toBeGreaterThan(0)
    const before = counter.count
    expect((await send(page)).body).toBe(fresh.body)
    expect(counter.count - before).toBe(0)
  })

  it('does not flush resolved credentials or pages when a token is issued', async () => {
    const page = cases.find((c) => c.name === 'licensed PyPI page (HTML)')!
    await send(page)
    await seedToken(gw.catalog.db, gw.account, { bearerType: 'admin' })
    const before = counter.count
    expect((await send(page)).statusCode).toBe(200)
    expect(counter.count - before).toBe(0)
  })
})
