import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ArtifactRow, PackageRow, ProductRow, ReleaseRow } from '../../../gateway/catalog/types.ts'
import { createTestGateway, type TestGateway } from '../../helpers/app.ts'
import {
  seedEntitlement,
  seedLicense,
  seedPackage,
  seedPolicy,
  seedProduct,
  seedRelease,
  seedToken,
  seedUser,
} from '../../helpers/seed.ts'
import { type BundleSpec, seedBundles, UPDATER_HEADERS } from './fixtures.ts'
import { fakeSignature, updaterProblems } from './updater-schema.ts'

/**
 * The Tauri engine against Keygen's scenarios (engines.md §4.13 v1 bundles, §4.14 v2 installers): what the
 * updater is offered, by whom, and how it is told "no update" (204, empty) or "error" (JSON, parameter named).
 * Every 200 and 204 is checked against the v1 and v2 updaters' response rules (updater-schema.ts).
 */

const KEY = 'TAURI-KEY-0001'
const KEY_ENTITLED = 'TAURI-KEY-0002'
const KEY_SUSPENDED = 'TAURI-KEY-0003'
const KEY_EXPIRED = 'TAURI-KEY-0004'
const KEY_OTHER = 'TAURI-KEY-0005'
const BASE = 'http://localhost:80/'

let gw: TestGateway
const files: Record<string, Record<string, ArtifactRow>> = {}
const releases: Record<string, ReleaseRow> = {}
const tokens: Record<string, string> = {}
/** What each `<file>.sig` holds, by `<package>@<version>/<file>`. */
const sigTexts: Record<string, string> = {}

/** v1 bundles (and the installers beside them), as `tauri build` v1 uploads them. */
const v1Bundles = (): BundleSpec[] => [
  { filename: 'myapp.AppImage', platform: 'linux', arch: 'x86_64' },
  { filename: 'myapp.AppImage.tar.gz', platform: 'linux', arch: 'x86_64', sigFile: fakeSignature('other') },
  { filename: 'myapp.app', platform: 'darwin', arch: 'x86_64', filetype: 'app' },
  { filename: 'myapp.app.tar.gz', platform: 'darwin', arch: 'x86_64', filetype: 'gz' },
  { filename: 'myapp_x64-setup.exe', platform: 'windows', arch: 'x86_64' },
  { filename: 'myapp_x64-setup.nsis.zip', platform: 'windows', arch: 'x86_64' },
  { filename: 'myapp_x64.msi', platform: 'windows', arch: 'x86_64' },
  { filename: 'myapp_x64.msi.zip', platform: 'windows', arch: 'x86_64' },
  { filename: 'myapp_x86-setup.exe', platform: 'windows', arch: 'i686' },
  { filename: 'myapp_x86-setup.nsis.zip', platform: 'windows', arch: 'i686' },
  { filename: 'myapp_x86.msi', platform: 'windows', arch: 'i686' },
  { filename: 'myapp_x86.msi.zip', platform: 'windows', arch: 'i686' },
]

/** v2 installers: no bundles but `.app.tar.gz`; signatures only as `.sig` files. */
const v2Bundles = (): BundleSpec[] =>
  [
    { filename: 'myapp.AppImage', platform: 'linux', arch: 'x86_64' },
    { filename: 'myapp.app', platform: 'darwin', arch: 'x86_64', filetype: 'app' },
    { filename: 'myapp.app.tar.gz', platform: 'darwin', arch: 'x86_64', filetype: 'gz' },
    { filename: 'myapp_x64-setup.exe', platform: 'windows', arch: 'x86_64' },
    { filename: 'myapp_x64.msi', platform: 'windows', arch: 'x86_64' },
    { filename: 'myapp_x86-setup.exe', platform: 'windows', arch: 'i686' },
    { filename: 'myapp_x86.msi', platform: 'windows', arch: 'i686' },
  ].map((b) => ({ ...b, signature: null, sigFile: fakeSignature(b.filename) }))

beforeAll(async () => {
  gw = await createTestGateway()
  const { db } = gw.catalog
  const { account, blobs } = gw
  const product = await seedProduct(db, account, { name: 'Test', code: 'test', strategy: 'LICENSED' })
  const open = await seedProduct(db, account, { name: 'Open', strategy: 'OPEN' })
  const closed = await seedProduct(db, account, { name: 'Closed', strategy: 'CLOSED' })
  const other = await seedProduct(db, account, { name: 'Other', strategy: 'LICENSED' })
  const ent = await seedEntitlement(db, account, { code: 'PRO' })
  const policy = await seedPolicy(db, account, { product, authenticationStrategy: 'LICENSE' })
  const owner = await seedUser(db, account)
  const licensee = await seedUser(db, account)
  await seedLicense(db, account, { policy, key: KEY, owner })
  await seedLicense(db, account, { policy, key: KEY_ENTITLED, entitlements: [ent], users: [licensee] })
  await seedLicense(db, account, { policy, key: KEY_SUSPENDED, suspended: true })
  const mixed = await seedPolicy(db, account, { product, authenticationStrategy: 'MIXED' })
  const suspended = await seedLicense(db, account, { policy: mixed, suspended: true })
  tokens.suspended = (await seedToken(db, account, { bearerType: 'license', bearer: suspended })).raw
  await seedLicense(db, account, { policy, key: KEY_EXPIRED, expiry: '2023-08-10T00:00:00.000Z' })
  const otherPolicy = await seedPolicy(db, account, { product: other, authenticationStrategy: 'LICENSE' })
  await seedLicense(db, account, { policy: otherPolicy, key: KEY_OTHER })
  tokens.product = (await seedToken(db, account, { bearerType: 'product', bearer: product })).raw
  tokens.owner = (await seedToken(db, account, { bearerType: 'user', bearer: owner })).raw
  tokens.licensee = (await seedToken(db, account, { bearerType: 'user', bearer: licensee })).raw

  const line = async (key: string, prod = product, engine: 'tauri' | 'pypi' | null = 'tauri') =>
    seedPackage(db, account, { product: prod, key, engine })
  const publish = async (
    pkg: PackageRow,
    prod: ProductRow,
    version: string,
    bundles: BundleSpec[],
    extra: Partial<Parameters<typeof seedRelease>[2]> = {},
  ) => {
    const release = await seedRelease(db, account, {
      product: prod,
      package: pkg,
      version,
      status: 'PUBLISHED',
      ...extra,
    })
    const name = `${pkg.key}@${version}`
    releases[name] = release
    files[name] = await seedBundles(db, blobs, account, release, bundles)
    for (const b of bundles) if (b.sigFile !== undefined) sigTexts[`${name}/${b.filename}`] = b.sigFile
  }

  const app1 = await line('app1')
  await publish(app1, product, '1.0.0', v1Bundles(), { description: 'foo', createdAt: '2023-08-01T00:00:00.000Z' })
  await publish(app1, product, '1.1.0', v1Bundles(), { description: 'bar', createdAt: '2023-08-15T00:00:00.000Z' })
  await publish(app1, product, '1.2.0-beta.1', v1Bundles(), { description: 'baz', createdAt: '2023-09-01T00:00:00Z' })
  const app2 = await line('app2')
  await publish(app2, product, '1.0.0-beta.1', v1Bundles(), { description: 'baz' })
  await publish(app2, product, '1.0.1-beta.1', v1Bundles(), { description: 'baz' })
  await publish(app2, product, '2.0.0-beta.1', v1Bundles(), { description: 'qux' })
  const app3 = await line('app3')
  await publish(app3, product, '1.0.0', v2Bundles(), { description: 'foo' })
  await publish(app3, product, '1.1.0', v2Bundles(), { description: 'bar' })
  const app4 = await line('app4')
  await publish(app4, product, '1.0.0-beta.1', v2Bundles())
  await publish(app4, product, '2.0.0-beta.1', v2Bundles())
  await line('pkg1', product, 'pypi')
  await line('pkg2', product, null)
  const app5 = await line('app5')
  await publish(app5, product, '1.0.0', v1Bundles(), { constraints: [ent] })
  await publish(app5, product, '1.1.0', v1Bundles())
  const app6 = await line('app6')
  await publish(app6, product, '1.0.0', v1Bundles())
  await publish(app6, product, '1.1.0', v1Bundles(), { constraints: [ent] })
  const openApp = await line('open-app', open)
  await publish(openApp, open, '1.0.0', v1Bundles())
  await publish(openApp, open, '1.1.0', v1Bundles())
  const closedApp = await line('closed-app', closed)
  await publish(closedApp, closed, '1.0.0', v1Bundles())
  await publish(closedApp, closed, '1.1.0', v1Bundles())
})
afterAll(async () => {
  await gw?.close()
})

type Who = 'admin' | 'product' | 'owner' | 'licensee' | 'suspended' | 'anonymous' | { license: string }

function authorization(who: Who): Record<string, string> {
  if (who === 'anonymous') return {}
  if (who === 'admin') return { authorization: `Bearer ${gw.adminToken}` }
  if (typeof who === 'object') return { authorization: `License ${who.license}` }
  return { authorization: `Bearer ${tokens[who]}` }
}

/** check asks as the updater does: `GET …/engines/tauri/<pkg>?platform=&arch=&version=…` with its headers. */
async function check(pkg: string, qs: string, who: Who = 'admin', path = '/v1/engines/tauri') {
  const res = await gw.app.inject({
    method: 'GET',
    url: `${path}/${pkg}?${qs}`,
    headers: { ...UPDATER_HEADERS, ...authorization(who) },
  })
  if (res.statusCode === 200 || res.statusCode === 204) {
    expect(updaterProblems('v1', res.statusCode, res.body)).toEqual([])
    expect(updaterProblems('v2', res.statusCode, res.body)).toEqual([])
  }
  return res
}

/** offered is the 200 body the updater gets for a file of a release. */
function offered(release: string, filename: string, search: string, signature?: string) {
  const row = files[release][filename]
  const r = releases[release]
  return {
    version: r.version,
    notes: r.description,
    pub_date: new Date(r.created_at).toISOString(),
    url: `${BASE}v1/accounts/${gw.account.id}/artifacts/${row.id}/${filename}?${search}`,
    signature: signature ?? row.signature,
  }
}

const LINUX = 'platform=linux&arch=x86_64'

describe('Tauri update checks (engines.md §4.13, v1 bundles)', () => {
  it('offers the next bundle with notes, RFC 3339 date, absolute URL and signature (#6, #8, #9)', async () => {
    const qs = `${LINUX}&version=1.0.0`
    const res = await check('app1', qs)
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.json()).toEqual(offered('app1@1.1.0', 'myapp.AppImage.tar.gz', qs))
    expect(res.json()).toMatchObject({ notes: 'bar', pub_date: '2023-08-15T00:00:00.000Z' })
  })

  it('answers the same on the account-scoped path, by slug or id (#2, #3)', async () => {
    const qs = `${LINUX}&version=1.0.0`
    const expected = offered('app1@1.1.0', 'myapp.AppImage.tar.gz', qs)
    for (const account of [gw.account.slug, gw.account.id]) {
      const res = await check('app1', qs, 'admin', `/v1/accounts/${account}/engines/tauri`)
      expect(res.json()).toEqual(expected)
    }
    expect((await check(releases['app1@1.0.0'].package_id!, qs)).json()).toEqual(expected)
  })

  it('answers 204 with an empty body for the latest, an unknown version and an unknown channel (#4, #5)', async () => {
    for (const qs of [`${LINUX}&version=1.1.0`, `${LINUX}&version=3.0.0`, `${LINUX}&version=1.0.0&channel=nightly`]) {
      const res = await check('app1', qs)
      expect(res.statusCode, qs).toBe(204)
      expect(res.body, qs).toBe('')
      expect(res.headers['content-type'], qs).toBeUndefined()
    }
  })

  it('picks the nsis bundle for windows i686 in the beta channel (#7)', async () => {
    const qs = 'platform=windows&arch=i686&version=1.0.0-beta.1'
    expect((await check('app2', qs)).json()).toEqual(offered('app2@2.0.0-beta.1', 'myapp_x86-setup.nsis.zip', qs))
  })

  it('narrows by constraint (#10) and widens by channel (#11)', async () => {
    const narrowed = 'platform=windows&arch=i686&version=1.0.0-beta.1&constraint=1.0'
    expect((await check('app2', narrowed)).json()).toEqual(
      offered('app2@1.0.1-beta.1', 'myapp_x86-setup.nsis.zip', narrowed),
    )
    const beta = `${LINUX}&version=1.1.0&channel=beta`
    expect((await check('app1', beta)).json()).toEqual(offered('app1@1.2.0-beta.1', 'myapp.AppImage.tar.gz', beta))
  })

  it('answers 404 for packages of other engines, none and unknown (#12)', async () => {
    for (const pkg of ['pkg1', 'pkg2', 'nope']) {
      const res = await check(pkg, `${LINUX}&version=1.0.0`)
      expect(res.statusCode, pkg).toBe(404)
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
      expect(res.json().errors).toEqual([
        { title: 'Not found', detail: `The requested release package '${pkg}' was not found`, code: 'NOT_FOUND' },
      ])
    }
  })

  it('answers 400 naming the missing parameter, in the order platform, arch, version (#13–15)', async () => {
    for (const [qs, parameter] of [
      ['version=1.0.0', 'platform'],
      ['platform=linux&version=1.0.0', 'arch'],
      [LINUX, 'version'],
    ]) {
      const res = await check('app1', qs)
      expect(res.statusCode, qs).toBe(400)
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
      expect(res.json()).toEqual({
        meta: { id: expect.any(String) },
        errors: [{ title: 'Bad request', detail: 'is missing', code: 'PARAMETER_MISSING', source: { parameter } }],
      })
    }
  })

  it('answers 400 naming the parameter for a repeated, blank or malformed value', async () => {
    for (const [qs, parameter, code] of [
      [`${LINUX}&platform=darwin&version=1.0.0`, 'platform', 'PARAMETER_INVALID'],
      ['platform=linux&arch=&version=1.0.0', 'arch', 'PARAMETER_INVALID'],
      [`${LINUX}&version=1.0.0&constraint=banana`, 'constraint', 'CONSTRAINT_INVALID'],
    ]) {
      const res = await check('app1', qs)
      expect(res.statusCode, qs).toBe(400)
      expect(res.json().errors[0]).toMatchObject({ title: 'Bad request', code, source: { parameter } })
    }
  })

  it('offers product tokens, licenses and their users the same bundles (#16, #17, #21, #22)', async () => {
    const win = 'platform=windows&arch=x86_64&version=1.0.0'
    expect((await check('app1', win, 'product')).json()).toEqual(offered('app1@1.1.0', 'myapp_x64-setup.nsis.zip', win))
    const mac = 'platform=darwin&arch=x86_64&version=1.0.0'
    const expected = offered('app1@1.1.0', 'myapp.app.tar.gz', mac)
    for (const who of [{ license: KEY }, 'owner', 'licensee'] as Who[]) {
      expect((await check('app1', mac, who)).json(), JSON.stringify(who)).toEqual(expected)
    }
  })

  it('applies entitlement constraints to the current and the next release (#18–20)', async () => {
    const qs = `${LINUX}&version=1.0.0`
    expect((await check('app5', qs, { license: KEY })).statusCode).toBe(204)
    expect((await check('app6', qs, { license: KEY })).statusCode).toBe(204)
    expect((await check('app6', qs, { license: KEY_ENTITLED })).json()).toEqual(
      offered('app6@1.1.0', 'myapp.AppImage.tar.gz', qs),
    )
  })

  it('hides LICENSED and CLOSED packages from anonymous callers and serves OPEN ones (#23–25)', async () => {
    const qs = `${LINUX}&version=1.0.0`
    expect((await check('app1', qs, 'anonymous')).statusCode).toBe(404)
    expect((await check('closed-app', qs, 'anonymous')).statusCode).toBe(404)
    expect((await check('open-app', qs, 'anonymous')).json()).toEqual(
      offered('open-app@1.1.0', 'myapp.AppImage.tar.gz', qs),
    )
    expect((await check('app1', qs, { license: KEY_OTHER })).statusCode).toBe(404)
  })

  it('answers 403 to a suspended license and offers an expired RESTRICT_ACCESS one nothing newer', async () => {
    const qs = `${LINUX}&version=1.0.0`
    const suspended = await check('app1', qs, { license: KEY_SUSPENDED })
    expect(suspended.statusCode).toBe(403)
    expect(suspended.json().errors[0]).toMatchObject({ title: 'Access denied', code: 'LICENSE_SUSPENDED' })
    // By token the license authenticates; the release show rule denies it.
    const byToken = await check('app1', qs, 'suspended')
    expect(byToken.statusCode).toBe(403)
    expect(byToken.json().errors[0]).toEqual({
      title: 'Access denied',
      detail: 'You do not have permission to complete the request (license is suspended)',
      code: 'FORBIDDEN',
    })
    // Expired on 2023-08-10: 1.0.0 (August 1st) is still its own, 1.1.0 (August 15th) is not.
    expect((await check('app1', qs, { license: KEY_EXPIRED })).statusCode).toBe(204)
    expect((await check('app1', `${LINUX}&version=1.1.0`, { license: KEY_EXPIRED })).statusCode).toBe(204)
  })

  it('answers 401 with a challenge, as JSON, to an unknown license key', async () => {
    const res = await check('app1', `${LINUX}&version=1.0.0`, { license: 'WRONG-KEY' })
    expect(res.statusCode).toBe(401)
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(res.headers['www-authenticate']).toBe('License realm="keygen"')
    expect(res.json().errors[0].code).toBe('LICENSE_INVALID')
  })
})

describe('Tauri update checks (engines.md §4.14, v2 installers)', () => {
  it('offers the AppImage with the contents of its .sig file (#6)', async () => {
    const qs = `${LINUX}&version=1.0.0`
    const sig = files['app3@1.1.0']['myapp.AppImage.sig']
    expect(sig).toBeDefined()
    const res = await check('app3', qs)
    expect(res.json()).toEqual(offered('app3@1.1.0', 'myapp.AppImage', qs, sigTexts['app3@1.1.0/myapp.AppImage']))
  })

  it('prefers .exe over .msi (#7, #16) and .app.tar.gz over .app (#17)', async () => {
    const i686 = 'platform=windows&arch=i686&version=1.0.0-beta.1'
    expect((await check('app4', i686)).json().url).toContain(
      `/${files['app4@2.0.0-beta.1']['myapp_x86-setup.exe'].id}/`,
    )
    const x64 = 'platform=windows&arch=x86_64&version=1.0.0'
    expect((await check('app3', x64, 'product')).json().url).toContain(
      `/${files['app3@1.1.0']['myapp_x64-setup.exe'].id}/myapp_x64-setup.exe?`,
    )
    const mac = 'platform=darwin&arch=x86_64&version=1.0.0'
    expect((await check('app3', mac, { license: KEY })).json()).toEqual(
      offered('app3@1.1.0', 'myapp.app.tar.gz', mac, sigTexts['app3@1.1.0/myapp.app.tar.gz']),
    )
  })
})

describe('the url the updater follows', () => {
  it('keeps ?auth=license:KEY, and the download route answers it with a redirect to storage', async () => {
    const qs = `${LINUX}&version=1.0.0&auth=license:${KEY}`
    const res = await gw.app.inject({ method: 'GET', url: `/v1/engines/tauri/app1?${qs}`, headers: UPDATER_HEADERS })
    expect(res.json()).toEqual(offered('app1@1.1.0', 'myapp.AppImage.tar.gz', qs))
    const url = new URL(res.json().url)
    const download = await gw.app.inject({
      method: 'GET',
      url: url.pathname + url.search,
      headers: { accept: 'application/octet-stream', 'user-agent': UPDATER_HEADERS['user-agent'] },
    })
    expect(download.statusCode).toBe(303)
    expect(download.headers.location).toMatch(/^\/v1\/blobs\//)
  })

  it('is built on publicUrl when configured and refuses a Host outside allowedHosts otherwise', async () => {
    const qs = `${LINUX}&version=1.0.0`
    const hostile = await gw.app.inject({
      method: 'GET',
      url: `/v1/engines/tauri/app1?${qs}`,
      headers: { ...UPDATER_HEADERS, ...authorization('admin'), host: 'evil.example' },
    })
    expect(hostile.statusCode).toBe(400)
    expect(hostile.json().errors[0].code).toBe('HOST_NOT_ALLOWED')
    const pinned = await createTestGateway({ config: { publicUrl: 'https://dist.example.com/pkg' } })
    try {
      const product = await seedProduct(pinned.catalog.db, pinned.account, { strategy: 'OPEN' })
      const pkg = await seedPackage(pinned.catalog.db, pinned.account, { product, key: 'app', engine: 'tauri' })
      for (const version of ['1.0.0', '1.1.0']) {
        const release = await seedRelease(pinned.catalog.db, pinned.account, {
          product,
          package: pkg,
          version,
          status: 'PUBLISHED',
        })
        await seedBundles(pinned.catalog.db, pinned.blobs, pinned.account, release, v1Bundles())
      }
      const res = await pinned.app.inject({
        method: 'GET',
        url: `/v1/engines/tauri/app?${qs}`,
        headers: { ...UPDATER_HEADERS, host: 'evil.example' },
      })
      const url = new URL(res.json().url)
      expect(url.origin).toBe('https://dist.example.com')
      expect(url.pathname).toMatch(
        new RegExp(`^/pkg/v1/accounts/${pinned.account.id}/artifacts/[0-9a-f-]{36}/myapp\\.AppImage\\.tar\\.gz$`),
      )
      expect(url.search).toBe(`?${qs}`)
    } finally {
      await pinned.close()
    }
  })

  it('accepts the v1 updater’s Accept and refuses one it cannot answer', async () => {
    const url = `/v1/engines/tauri/app1?${LINUX}&version=1.0.0`
    const auth = authorization('admin')
    const v1 = await gw.app.inject({ url, headers: { ...auth, accept: 'application/octet-stream' } })
    expect(v1.statusCode).toBe(200)
    const html = await gw.app.inject({ url, headers: { ...auth, accept: 'text/html' } })
    expect(html.statusCode).toBe(400)
    expect(html.json().errors[0]).toMatchObject({ code: 'MIME_TYPE_INVALID', source: { header: 'Accept' } })
  })
})
