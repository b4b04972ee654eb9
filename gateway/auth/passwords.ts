import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto'

/**
 * User passwords, hashed with scrypt. The stored form is self-describing so the cost can be raised later:
 * `scrypt$<N>$<r>$<p>$<salt, base64>$<hash, base64>`.
 */

const ALGORITHM = 'scrypt'
const DEFAULT_COST = { N: 16384, r: 8, p: 1 }
const KEY_LENGTH = 64
const SALT_LENGTH = 16
/** Bounds on parameters read back from the catalog, so a corrupted row cannot exhaust memory or CPU. */
const MAX_N = 2 ** 20
const MAX_RP = 16

function derive(password: string, salt: Buffer, keylen: number, cost: { N: number; r: number; p: number }) {
  const options: ScryptOptions = { ...cost, maxmem: 256 * cost.N * cost.r + 1024 * 1024 }
  return new Promise<Buffer>((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key)))
  })
}

/** hashPassword returns a salted scrypt hash in the encoded form above. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_LENGTH)
  const hash = await derive(password, salt, KEY_LENGTH, DEFAULT_COST)
  const { N, r, p } = DEFAULT_COST
  return [ALGORITHM, N, r, p, salt.toString('base64'), hash.toString('base64')].join('$')
}

/**
 * verifyPassword checks a password against an encoded hash in constant time. A missing, malformed or
 * out-of-bounds hash is simply a mismatch; it never throws for bad input.
 */
export async function verifyPassword(password: string, encoded: string | null | undefined): Promise<boolean> {
  if (typeof password !== 'string' || typeof encoded !== 'string') return false
  const parts = encoded.split('$')
  if (parts.length !== 6 || parts[0] !== ALGORITHM) return false
  const [N, r, p] = parts.slice(1, 4).map((v) => (/^[1-9][0-9]{0,7}$/.test(v) ? Number(v) : Number.NaN))
  if (!Number.isInteger(N) || N < 2 || N > MAX_N || (N & (N - 1)) !== 0) return false
  if (!Number.isInteger(r) || r > MAX_RP || !Number.isInteger(p) || p > MAX_RP) return false
  const salt = Buffer.from(parts[4], 'base64')
  const expected = Buffer.from(parts[5], 'base64')
  if (salt.length === 0 || expected.length < 16 || expected.length > 128) return false
  let actual: Buffer
  try {
    actual = await derive(password, salt, expected.length, { N, r, p })
  } catch {
    return false
  }
  return timingSafeEqual(actual, expected)
}
