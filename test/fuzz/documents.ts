import type { Knowledge, Pool } from './generate.ts'
import type { Random } from './random.ts'
import { ATTRIBUTES, GARBAGE, RELATIONSHIPS, TYPES } from './vocabulary.ts'

/** Documents makes request bodies: JSON:API documents routes accept, random ones, and garbage. */
export class Documents {
  constructor(
    private readonly r: Random,
    private readonly know: Knowledge,
    private readonly id: (pool: Pool | 'any') => string,
  ) {}

  /** A random JSON value, nested up to depth. */
  value(depth = 0): unknown {
    const roll = this.r.int(depth > 2 ? 7 : 10)
    switch (roll) {
      case 0:
        return null
      case 1:
        return this.r.chance(0.5)
      case 2:
        return this.r.pick([0, -1, 1, 1.5, 2 ** 53, -(2 ** 63), 1e308, 5368709121, 102400])
      case 3:
        return this.r.pick(['', ' ', 'x', '1.0.0', 'stable', 'pypi', 'LICENSE', 'MIXED', 'UPLOADED', 'a/b', '../x'])
      case 4:
        return this.r.pick(GARBAGE)
      case 5:
        return this.r.pick(this.know.ids[this.r.pick(['product', 'release', 'policy', 'user'] as const)].concat(['x']))
      case 6:
        return new Date(Date.now() + (this.r.next() - 0.5) * 1e11).toISOString()
      case 7:
        return Array.from({ length: this.r.int(3) }, () => this.value(depth + 1))
      default:
        return Object.fromEntries(
          Array.from({ length: this.r.int(4) }, () => [this.r.pick(ATTRIBUTES), this.value(depth + 1)]),
        )
    }
  }
  document(): unknown {
    const attributes = Object.fromEntries(
      Array.from({ length: this.r.int(6) }, () => [this.r.pick(ATTRIBUTES), this.value()]),
    )
    const relationships = Object.fromEntries(
      Array.from({ length: this.r.int(3) }, () => {
        const name = this.r.pick(RELATIONSHIPS)
        const pool = (['product', 'package', 'policy', 'release', 'user'] as const).find((p) => name.startsWith(p))
        const ref = { type: `${name}s`, id: this.id(pool ?? 'any') }
        return [name, this.r.chance(0.8) ? { data: this.r.chance(0.2) ? [ref] : ref } : this.value()]
      }),
    )
    const data: Record<string, unknown> = { type: this.r.chance(0.9) ? this.r.pick(TYPES) : this.value() }
    if (this.r.chance(0.8)) data.attributes = this.r.chance(0.9) ? attributes : this.value()
    if (this.r.chance(0.5)) data.relationships = relationships
    if (this.r.chance(0.1)) data.id = this.id('any')
    return this.r.chance(0.9) ? { data } : this.r.chance(0.5) ? { data: [data] } : this.value()
  }
  ref(type: string, pool: Pool) {
    return { data: { type, id: this.id(pool) } }
  }
  /** A document the route would accept (before one mutation now and then), so requests get past validation. */
  valid(method: string, path: string): unknown {
    const segments = path.split('?')[0].split('/').filter(Boolean)
    const [resource, id, sub] = segments[1] === 'accounts' ? segments.slice(3) : segments.slice(1)
    const n = this.r.int(1_000_000)
    const many = (type: string, pool: Pool) => ({ data: [{ type, id: this.id(pool) }] })
    if (id && sub === 'entitlements') return many('entitlements', 'entitlement')
    if (id && sub === 'users') return many('users', 'user')
    if (id && sub === 'constraints') {
      return {
        data: [{ type: 'constraints', relationships: { entitlement: this.ref('entitlements', 'entitlement') } }],
      }
    }
    const attributes: Record<string, Record<string, unknown>> = {
      products: { name: `p${n}`, code: `p${n}`, distributionStrategy: this.r.pick(['LICENSED', 'OPEN', 'CLOSED']) },
      packages: { name: `k${n}`, key: `k${n}`, engine: this.r.pick(['pypi', 'raw', null]) },
      policies: { name: `pol${n}`, authenticationStrategy: this.r.pick(['TOKEN', 'LICENSE', 'MIXED']) },
      releases: { version: `${n % 9}.${n % 7}.${n % 5}`, channel: 'stable', tag: this.r.chance(0.3) ? `t${n}` : null },
      artifacts: { filename: `f${n}.tar.gz`, filetype: 'gz', filesize: this.r.pick([0, 10, 1000, null]) },
      entitlements: { name: `e${n}`, code: `E${n}` },
      licenses: { name: `l${n}`, key: this.r.chance(0.5) ? `LICENSE-KEY-${n}-XXXXXXX` : undefined },
      users: { email: `u${n}@example.com`, password: 'secret-password-1' },
      tokens: { name: `t${n}` },
    }
    const relationships: Record<string, Record<string, unknown>> = {
      packages: { product: this.ref('products', 'product') },
      policies: { product: this.ref('products', 'product') },
      releases: { product: this.ref('products', 'product'), package: this.ref('packages', 'package') },
      artifacts: { release: this.ref('releases', 'release') },
      licenses: { policy: this.ref('policies', 'policy'), owner: this.ref('users', 'user') },
    }
    const data: Record<string, unknown> = { type: resource, attributes: { ...attributes[resource] } }
    if (method === 'POST' && relationships[resource]) data.relationships = relationships[resource]
    if (method !== 'POST' && id) data.id = id
    if (this.r.chance(0.4)) (data.attributes as Record<string, unknown>)[this.r.pick(ATTRIBUTES)] = this.value()
    return { data }
  }
  /** body is what a write request carries: a valid document, a random one, or garbage, under some Content-Type. */
  body(method: string, path: string): { body?: string | Buffer; type?: string } {
    const roll = this.r.next()
    const type = this.r.pick([
      'application/vnd.api+json',
      'application/vnd.api+json',
      'application/json',
      'application/json; charset=latin1',
      'text/plain',
      'application/octet-stream',
      'multipart/form-data; boundary=x',
      undefined,
    ])
    if (roll < 0.1) return { type }
    if (roll < 0.55) return { body: JSON.stringify(this.valid(method, path)), type: 'application/vnd.api+json' }
    if (roll < 0.8) return { body: JSON.stringify(this.document()), type }
    return {
      type,
      body: this.r.pick([
        '',
        '{',
        'null',
        '[]',
        '"x"',
        '123',
        'not json',
        '{"data":',
        '{"data":null}',
        '{"__proto__":{"polluted":1},"data":{"type":"products","attributes":{"name":"p"}}}',
        `${'['.repeat(3000)}${']'.repeat(3000)}`,
        JSON.stringify({ data: { type: 'products', attributes: { name: 'x'.repeat(2 * 1024 * 1024) } } }),
      ]),
    }
  }
}
