import { describe, expect, it } from 'vitest'
import { ANONYMOUS, type LicenseContext, type Principal } from '../../../gateway/auth/principal.ts'
import { headerValue, parseCoreMetadata } from '../../../formats/python/core-metadata.ts'
import { negotiate } from '../../../gateway/engines/pypi/negotiate.ts'
import { isValidProjectName, normalizeProjectName } from '../../../formats/python/normalize.ts'
import { filenameVersion } from '../../../gateway/engines/pypi/project.ts'
import { escapeHtml } from '../../../gateway/engines/pypi/render-html.ts'
import { etagMatches } from '../../../gateway/conditional.ts'
import { visibilityClass } from '../../../gateway/read-model/visibility.ts'
import { PIP_ACCEPT, sha256 } from './fixtures.ts'

describe('normalizeProjectName (PEP 503)', () => {
  it.each([
    ['Vendor_Pkg', 'vendor-pkg'],
    ['vendor.pkg', 'vendor-pkg'],
    ['VENDOR--_.PKG', 'vendor-pkg'],
    ['zope.interface', 'zope-interface'],
    ['a', 'a'],
  ])('normalizes %s to %s', (name, normalized) => {
    expect(normalizeProjectName(name)).toBe(normalized)
  })

  it('accepts PEP 508 names only', () => {
    for (const ok of ['a', 'A1', 'foo.bar_baz-qux', '0']) expect(isValidProjectName(ok), ok).toBe(true)
    for (const bad of ['', '-a', 'a-', 'a b', 'a/b', '..', 'a%2f', 'ä'])
      expect(isValidProjectName(bad), bad).toBe(false)
  })
})

describe('negotiate (PEP 691)', () => {
  it.each([
    [undefined, 'html'],
    ['', 'html'],
    ['*/*', 'html'],
    ['*', 'html'],
    ['text/html', 'html'],
    ['text/*', 'html'],
    [PIP_ACCEPT, 'json'],
    ['application/vnd.pypi.simple.v1+json', 'json'],
    ['application/vnd.pypi.simple.latest+json', 'json'],
    ['application/vnd.pypi.simple.v1+html', 'html'],
    ['application/vnd.pypi.simple.v1+json;q=0.5, text/html', 'html'],
    ['application/vnd.pypi.simple.v1+json, */*;q=0.1', 'json'],
    ['application/vnd.pypi.simple.v1+json;q=0, */*', 'html'],
    ['text/html;q=0', null],
    ['text/html;q=0, application/vnd.pypi.simple.v1+json;q=0.2', 'json'],
    ['application/json', null],
    ['text/html;q=0, application/vnd.pypi.simple.v1+json;q=0', null],
    ['garbage', 'html'],
  ])('Accept %j → %s', (accept, rep) => {
    expect(negotiate(accept)).toBe(rep)
  })
})

describe('core metadata', () => {
  const text =
    'Metadata-Version: 2.1\nName: x\nVersion: 1.0\nRequires-Python: >=3.8,\n  <4\nSummary: s\n\nRequires-Python: <2\n'

  it('reads headers (with continuation lines) up to the body only', () => {
    expect(headerValue(text, 'requires-python')).toBe('>=3.8, <4')
    expect(headerValue(text, 'Version')).toBe('1.0')
    expect(headerValue(text, 'Home-page')).toBeNull()
  })

  it('hashes the exact bytes it serves', () => {
    const meta = parseCoreMetadata('Name: é\n')
    expect(meta.sha256).toBe(sha256(Buffer.from('Name: é\n', 'utf8')))
    expect(meta.bytes.toString('utf8')).toBe('Name: é\n')
  })
})

describe('filenameVersion', () => {
  it.each([
    ['pkg-1.0.0-py3-none-any.whl', '1.0.0'],
    ['pkg-1.0-1build-cp311-cp311-manylinux_2_17_x86_64.whl', '1.0'],
    ['pkg-2.0b1.tar.gz', '2.0b1'],
    ['my-pkg-2.0.zip', '2.0'],
    ['setup.exe', null],
  ])('%s → %s', (filename, version) => {
    expect(filenameVersion(filename)).toBe(version)
  })
})

describe('escapeHtml', () => {
  it('escapes the five significant characters', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    )
  })
})

describe('etagMatches', () => {
  it('compares weakly and understands lists and *', () => {
    expect(etagMatches('W/"abc"', 'W/"abc"')).toBe(true)
    expect(etagMatches('"abc"', 'W/"abc"')).toBe(true)
    expect(etagMatches('"x", W/"abc"', 'W/"abc"')).toBe(true)
    expect(etagMatches('*', 'W/"abc"')).toBe(true)
    expect(etagMatches('W/"abd"', 'W/"abc"')).toBe(false)
    expect(etagMatches(undefined, 'W/"abc"')).toBe(false)
  })
})

describe('visibilityClass', () => {
  const license = (over: Partial<LicenseContext> = {}): LicenseContext => ({
    id: 'l1',
    productId: 'p1',
    policyId: 'pol',
    expiry: null,
    suspended: false,
    banned: false,
    expirationStrategy: 'RESTRICT_ACCESS',
    authenticationStrategy: 'LICENSE',
    entitlementIds: new Set(['e1', 'e2']),
    ...over,
  })
  const asLicense = (l: LicenseContext): Principal => ({ kind: 'license', tokenId: null, license: l })

  it('names fixed classes for anonymous, staff and products', () => {
    expect(visibilityClass(ANONYMOUS)).toBe('anonymous')
    expect(visibilityClass({ kind: 'staff', role: 'admin', tokenId: 't', userId: null })).toBe('staff')
    expect(visibilityClass({ kind: 'product', tokenId: 't', productId: 'p9' })).toBe('product:p9')
  })

  it('shares a class between licenses with the same grants and separates different grants', () => {
    const a = visibilityClass(asLicense(license({ id: 'a', entitlementIds: new Set(['e2', 'e1']) })))
    const b = visibilityClass(asLicense(license({ id: 'b' })))
    const c = visibilityClass(asLicense(license({ id: 'c', entitlementIds: new Set(['e1']) })))
    const d = visibilityClass(asLicense(license({ id: 'd', productId: 'p2' })))
    expect(a).toBe(b)
    expect(new Set([a, c, d]).size).toBe(3)
  })

  it('changes when a REVOKE_ACCESS license expires', () => {
    const l = license({ expirationStrategy: 'REVOKE_ACCESS', expiry: '2030-01-01T00:00:00.000Z' })
    const before = visibilityClass(asLicense(l), Date.parse('2029-12-31T00:00:00Z'))
    const after = visibilityClass(asLicense(l), Date.parse('2030-01-02T00:00:00Z'))
    expect(before).not.toBe(after)
  })
})
