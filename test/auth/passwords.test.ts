import { describe, expect, it } from 'vitest'
import { hashPassword, verifyPassword } from '../../gateway/auth/passwords.ts'

describe('passwords', () => {
  it('verifies the password a hash was made from and rejects others', async () => {
    const hash = await hashPassword('correct horse')
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/)
    expect(await verifyPassword('correct horse', hash)).toBe(true)
    expect(await verifyPassword('correct horsE', hash)).toBe(false)
    expect(await verifyPassword('', hash)).toBe(false)
  })

  it('salts every hash', async () => {
    const [a, b] = await Promise.all([hashPassword('same'), hashPassword('same')])
    expect(a).not.toBe(b)
    expect(await verifyPassword('same', a)).toBe(true)
    expect(await verifyPassword('same', b)).toBe(true)
  })

  it('treats unicode passwords in composed and decomposed form alike', async () => {
    const hash = await hashPassword('caf\u00e9')
    expect(await verifyPassword('cafe\u0301', hash)).toBe(true)
  })

  it('treats missing, malformed or out-of-bounds hashes as a mismatch without throwing', async () => {
    const good = await hashPassword('pw')
    const parts = good.split('$')
    const variants: Array<string | null | undefined> = [
      null,
      undefined,
      '',
      'plain',
      'bcrypt$1$2$3$4$5',
      good.replace('scrypt$16384', 'scrypt$16383'),
      good.replace('scrypt$16384', 'scrypt$1073741824'),
      [...parts.slice(0, 2), '0', ...parts.slice(3)].join('$'),
      [...parts.slice(0, 4), '', parts[5]].join('$'),
      [...parts.slice(0, 5), 'AAAA'].join('$'),
    ]
    for (const v of variants) expect(await verifyPassword('pw', v)).toBe(false)
  })
})
