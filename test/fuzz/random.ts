/** mulberry32: a small, fast, seedable PRNG (good enough to spread inputs; not for secrets). */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Random draws the fuzzer's choices from one seed. */
export class Random {
  readonly #next: () => number

  constructor(seed: number) {
    this.#next = prng(seed)
  }

  /** A float in [0, 1). */
  next(): number {
    return this.#next()
  }

  int(n: number): number {
    return Math.floor(this.#next() * n)
  }

  chance(p: number): boolean {
    return this.#next() < p
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]
  }

  uuid(): string {
    const hex = () => this.int(16).toString(16)
    const group = (n: number) => Array.from({ length: n }, hex).join('')
    return `${group(8)}-${group(4)}-4${group(3)}-a${group(3)}-${group(12)}`
  }
}
