import { Writable } from 'node:stream'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bumpRevision } from '../../../gateway/catalog/accounts.ts'
import { createTestGateway, type TestGateway } from '../../helpers/app.ts'
import { seedPackage, seedProduct, seedRelease } from '../../helpers/seed.ts'
import { type BundleSpec, seedBundles, UPDATER_HEADERS } from './fixtures.ts'
import { fakeSignature, updaterProblems } from './updater-schema.ts'

/**
 * Which uploaded file of the upgrade release the updater is offered, and with which signature: Keygen's
 * preference (a `.zip`/`.gz` bundle, then `.nsis.zip`, then `.exe`, then the newest), the signature attribute or
 * else the sibling `.sig` file, other spellings of the updater's `{{target}}`/`{{arch}}`. Files are uploaded in
 * the order listed (the last is the newest); each case is its own package with releases 1.0.0 and 1.1.0.
 */

interface Case {
  name: string
  files: BundleSpec[]
  /** Asked for as `platform=<platform>&arch=<arch>`. */
  platform?: string
  arch?: string
  /** The file offered, or null for 204. */
  expect: string | null
  /** Where the offered signature comes from. */
  signature?: 'attribute' | 'sig-file'
}

const linux = (filename: string, extra: Partial<BundleSpec> = {}): BundleSpec => ({
  filename,
  platform: 'linux',
  arch: 'x86_64',
  ...extra,
})
const ED25519PH = randomBytes(64).toString('base64') // what `keygen upload --signing-key` stores: not minisign
const SIG_FILE = { signature: null, sigFile: fakeSignature('sidecar') }

const cases: Case[] = [
  // Preference among .app.tar.gz, .AppImage.tar.gz, .nsis.zip, .msi.zip, .exe, .msi, .AppImage, .dmg.
  {
    name: '.AppImage.tar.gz over a newer .AppImage',
    files: [linux('a.AppImage.tar.gz'), linux('a.AppImage')],
    expect: 'a.AppImage.tar.gz',
  },
  { name: '.app.tar.gz over a newer .dmg', files: [linux('a.app.tar.gz'), linux('a.dmg')], expect: 'a.app.tar.gz' },
  { name: '.nsis.zip over a newer .msi.zip', files: [linux('a.nsis.zip'), linux('a.msi.zip')], expect: 'a.nsis.zip' },
  { name: '.nsis.zip over an older .msi.zip', files: [linux('a.msi.zip'), linux('a.nsis.zip')], expect: 'a.nsis.zip' },
  { name: '.msi.zip over a newer .exe', files: [linux('a.msi.zip'), linux('a.exe')], expect: 'a.msi.zip' },
  { name: '.exe over a newer .msi', files: [linux('a.exe'), linux('a.msi')], expect: 'a.exe' },
  { name: '.exe over an older .msi', files: [linux('a.msi'), linux('a.exe')], expect: 'a.exe' },
  { name: '.exe over a newer .AppImage', files: [linux('a.exe'), linux('a.AppImage')], expect: 'a.exe' },
  {
    name: 'the newest of .msi, .AppImage, .dmg',
    files: [linux('a.msi'), linux('a.dmg'), linux('a.AppImage')],
    expect: 'a.AppImage',
  },
  {
    name: 'the newest of two archives',
    files: [linux('a.app.tar.gz'), linux('a.AppImage.tar.gz')],
    expect: 'a.AppImage.tar.gz',
  },
  {
    name: 'all eight: .nsis.zip',
    files: [
      'a.nsis.zip',
      'a.app.tar.gz',
      'a.AppImage.tar.gz',
      'a.msi.zip',
      'a.exe',
      'a.msi',
      'a.AppImage',
      'a.dmg',
    ].map((f) => linux(f)),
    expect: 'a.nsis.zip',
  },
  { name: 'case-insensitive suffixes', files: [linux('a.EXE'), linux('A.NSIS.ZIP')], expect: 'A.NSIS.ZIP' },
  // Eligibility: a platform, an arch and a filetype; no signature files; this platform and arch only.
  { name: 'no filetype: not offered', files: [linux('a.exe', { filetype: null })], expect: null },
  { name: 'another arch: not offered', files: [linux('a.exe', { arch: 'aarch64' })], expect: null },
  {
    name: 'a signature file is never the update',
    files: [linux('a.AppImage'), linux('a.AppImage.sig', { filetype: 'sig' })],
    expect: 'a.AppImage',
  },
  { name: 'not uploaded yet: not offered', files: [linux('a.exe', { status: 'PROCESSING' })], expect: null },
  // Other spellings of the updater's {{target}} and {{arch}}.
  {
    name: 'macos/arm64 artifacts for darwin/aarch64',
    files: [{ filename: 'a.app.tar.gz', platform: 'macos', arch: 'arm64' }],
    platform: 'darwin',
    arch: 'aarch64',
    expect: 'a.app.tar.gz',
  },
  {
    name: 'windows/amd64 and win32/386 artifacts',
    files: [
      { filename: 'a_x86-setup.exe', platform: 'win32', arch: '386' },
      { filename: 'a_x64-setup.exe', platform: 'windows', arch: 'amd64' },
    ],
    platform: 'windows',
    arch: 'i686',
    expect: 'a_x86-setup.exe',
  },
  {
    name: 'the exact spelling wins a tie',
    files: [linux('a.AppImage', { arch: 'x86_64' }), linux('b.AppImage', { arch: 'amd64' })],
    expect: 'a.AppImage',
  },
  // Signatures: the attribute, else `<file>.sig`, else the next candidate, else 204 — never `null`.
  {
    name: 'the attribute over a .sig file',
    files: [linux('a.exe', { sigFile: fakeSignature('x') })],
    expect: 'a.exe',
    signature: 'attribute',
  },
  {
    name: 'a .sig file when there is no attribute',
    files: [linux('a.exe', SIG_FILE)],
    expect: 'a.exe',
    signature: 'sig-file',
  },
  {
    name: 'a .sig file when the attribute is not a minisign signature',
    files: [linux('a.exe', { signature: ED25519PH, sigFile: fakeSignature('x') })],
    expect: 'a.exe',
    signature: 'sig-file',
  },
  {
    name: 'a raw minisign file as the attribute is base64-encoded',
    files: [linux('a.exe', { signature: Buffer.from(fakeSignature('raw'), 'base64').toString('utf8') })],
    expect: 'a.exe',
    signature: 'attribute',
  },
  {
    name: 'an unsigned bundle gives way to the next candidate',
    files: [linux('a.AppImage', SIG_FILE), linux('a.AppImage.tar.gz', { signature: null })],
    expect: 'a.AppImage',
    signature: 'sig-file',
  },
  {
    name: 'nothing signed: 204',
    files: [linux('a.exe', { signature: null }), linux('a.msi', { signature: ED25519PH })],
    expect: null,
  },
  { name: 'an empty .sig file: 204', files: [linux('a.exe', { signature: null, sigFile: '' })], expect: null },
  {
    name: 'a .sig file not uploaded yet: 204',
    files: [linux('a.exe', { signature: null, sigFile: fakeSignature('x') })],
    expect: null,
  },
]

let gw: TestGateway
const offered: Record<string, { id: string; signature: string | null; sigText?: string }> = {}
/** Each case's upgrade release. */
const upgrades: Record<string, string> = {}
/** The gateway's warnings, parsed. */
const warnings: Array<Record<string, unknown>> = []

beforeAll(async () => {
  const log = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) warnings.push(JSON.parse(line))
      callback()
    },
  })
  gw = await createTestGateway({ log })
  const { db } = gw.catalog
  const product = await seedProduct(db, gw.account, { strategy: 'LICENSED' })
  for (const [i, c] of cases.entries()) {
    const pkg = await seedPackage(db, gw.account, { product, key: `case-${i}`, engine: 'tauri' })
    await seedRelease(db, gw.account, { product, package: pkg, version: '1.0.0', status: 'PUBLISHED' })
    const release = await seedRelease(db, gw.account, { product, package: pkg, version: '1.1.0', status: 'PUBLISHED' })
    upgrades[c.name] = release.id
    const rows = await seedBundles(db, gw.blobs, gw.account, release, c.files)
    if (c.name === 'a .sig file not uploaded yet: 204') {
      await db.updateTable('artifacts').set({ status: 'PROCESSING' }).where('id', '=', rows['a.exe.sig'].id).execute()
      await bumpRevision(db, gw.account.id)
    }
    if (c.expect) {
      const spec = c.files.find((f) => f.filename === c.expect)!
      offered[c.name] = { id: rows[c.expect].id, signature: rows[c.expect].signature, sigText: spec.sigFile }
    }
  }
})
afterAll(async () => {
  await gw?.close()
})

describe('the bundle offered for a platform', () => {
  it.each(cases.map((c, i) => ({ ...c, i })))('$name', async (c) => {
    const qs = `platform=${c.platform ?? 'linux'}&arch=${c.arch ?? 'x86_64'}&version=1.0.0`
    const res = await gw.app.inject({
      url: `/v1/engines/tauri/case-${c.i}?${qs}`,
      headers: { ...UPDATER_HEADERS, authorization: `Bearer ${gw.adminToken}` },
    })
    expect(updaterProblems('v1', res.statusCode, res.body)).toEqual([])
    expect(updaterProblems('v2', res.statusCode, res.body)).toEqual([])
    if (c.expect === null) {
      expect(res.statusCode).toBe(204)
      expect(res.body).toBe('')
      return
    }
    expect(res.statusCode).toBe(200)
    const body = res.json()
    const want = offered[c.name]
    expect(body.url).toBe(
      `http://localhost:80/v1/accounts/${gw.account.id}/artifacts/${want.id}/${encodeURIComponent(c.expect)}?${qs}`,
    )
    if (c.signature === 'sig-file') expect(body.signature).toBe(want.sigText)
    else if (want.signature?.startsWith('untrusted comment:'))
      expect(body.signature).toBe(Buffer.from(want.signature).toString('base64'))
    else expect(body.signature).toBe(want.signature)
  })
})

describe('bundles never offered', () => {
  it('are logged once per artifact and revision, naming the file, so the vendor learns why users see no update', async () => {
    const name = 'nothing signed: 204'
    const i = cases.findIndex((c) => c.name === name)
    const check = () =>
      gw.app.inject({
        url: `/v1/engines/tauri/case-${i}?platform=linux&arch=x86_64&version=1.0.0&again=${Math.random()}`,
        headers: { ...UPDATER_HEADERS, authorization: `Bearer ${gw.adminToken}` },
      })
    expect((await check()).statusCode).toBe(204)
    expect((await check()).statusCode).toBe(204)
    const logged = warnings.filter((w) => String(w.msg).startsWith('tauri: bundle not offered'))
    const ofCase = logged.filter((w) => w.release === upgrades[name])
    expect(ofCase.map((w) => w.filename).sort()).toEqual(['a.exe', 'a.msi'])
    for (const w of ofCase) {
      expect(w.level).toBe(40)
      expect(w.version).toBe('1.1.0')
      expect(w.artifact).toMatch(/^[0-9a-f-]{36}$/)
      expect(w.msg).toBe(
        'tauri: bundle not offered: neither its signature nor a verified <filename>.sig in its release is a ' +
          'minisign signature the updater can verify (the output of `tauri signer sign`)',
      )
    }
    expect(JSON.stringify(logged)).not.toContain(ED25519PH)
  })
})

describe('versions the updater sends', () => {
  it('finds a build-metadata version whose + arrived unencoded (a space)', async () => {
    const { db } = gw.catalog
    const product = await seedProduct(db, gw.account, { strategy: 'OPEN' })
    const pkg = await seedPackage(db, gw.account, { product, key: 'builds', engine: 'tauri' })
    for (const version of ['1.0.0+1', '1.0.0+2']) {
      const release = await seedRelease(db, gw.account, { product, package: pkg, version, status: 'PUBLISHED' })
      await seedBundles(db, gw.blobs, gw.account, release, [linux('a.AppImage.tar.gz')])
    }
    for (const version of ['1.0.0+1', '1.0.0%2B1']) {
      const res = await gw.app.inject({
        url: `/v1/engines/tauri/builds?platform=linux&arch=x86_64&version=${version}`,
        headers: UPDATER_HEADERS,
      })
      expect(res.statusCode, version).toBe(200)
      expect(res.json().version).toBe('1.0.0+2')
    }
  })
})
