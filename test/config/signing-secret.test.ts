import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig, resolveSigningSecret } from '../../config/load.ts'

const root = mkdtempSync(join(tmpdir(), 'pkgway-secret-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

let dirs = 0
const configIn = (dataDir: string, env: NodeJS.ProcessEnv = {}) =>
  loadConfig({ env: { PKGWAY_DATA_DIR: dataDir, ...env } })

describe('resolveSigningSecret', () => {
  it('generates a secret on first start, persists it with mode 0600 and reuses it afterwards', () => {
    const dataDir = join(root, `fresh-${++dirs}`, 'nested')
    const first = resolveSigningSecret(configIn(dataDir))
    expect(first).toMatch(/^[0-9a-f]{64}$/)
    const file = join(dataDir, 'signing-secret')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(readFileSync(file, 'utf8').trim()).toBe(first)
    expect(resolveSigningSecret(configIn(dataDir))).toBe(first)
  })

  it('gives each data directory its own secret', () => {
    const a = resolveSigningSecret(configIn(join(root, `a-${++dirs}`)))
    const b = resolveSigningSecret(configIn(join(root, `b-${++dirs}`)))
    expect(a).not.toBe(b)
  })

  it('uses a configured secret and writes nothing', () => {
    const dataDir = join(root, `configured-${++dirs}`)
    const secret = 'c'.repeat(40)
    expect(resolveSigningSecret(configIn(dataDir, { PKGWAY_SIGNING_SECRET: secret }))).toBe(secret)
    expect(existsSync(join(dataDir, 'signing-secret'))).toBe(false)
  })

  it('fails with one line naming the data directory when it is a file', () => {
    const file = join(root, `not-a-dir-${++dirs}`)
    writeFileSync(file, 'x')
    expect(() => resolveSigningSecret(configIn(file))).toThrowError(
      new RegExp(`^data directory ${file} is not usable: ENOTDIR on ${file}/signing-secret$`),
    )
  })
})
