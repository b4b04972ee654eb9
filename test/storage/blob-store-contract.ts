import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { text } from 'node:stream/consumers'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  BlobNotFoundError,
  type BlobStore,
  InvalidKeyError,
  SizeMismatchError,
} from '../../gateway/storage/blob-store.ts'

/**
 * runBlobStoreContract is the one conformance suite every backend passes. Each test cleans up after itself,
 * and afterEach fails when an object was left behind.
 */
export function runBlobStoreContract(name: string, makeStore: () => Promise<BlobStore> | BlobStore): void {
  describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStore
    beforeAll(async () => {
      store = await makeStore()
    })
    afterEach(async () => {
      const left: string[] = []
      for await (const key of store.list('')) left.push(key)
      for (const key of left) await store.delete(key)
      expect(left, 'objects left behind').toEqual([])
    })

    it('writes a buffer and reads it back with size and etag', async () => {
      const info = await store.write('artifacts/a/r/hello.txt', Buffer.from('hello world\n'))
      expect(info.size).toBe(12)
      expect(info.etag).toMatch(/^".+"$/)
      const st = await store.stat('artifacts/a/r/hello.txt')
      expect(st.size).toBe(12)
      expect(st.etag).toBe(info.etag)
      expect(await text(await store.read('artifacts/a/r/hello.txt'))).toBe('hello world\n')
      await store.delete('artifacts/a/r/hello.txt')
    })

    it('streams a large body and reads a byte range from an offset', async () => {
      const body = Buffer.alloc(300_000, 0)
      for (let i = 0; i < body.length; i++) body[i] = (7 * i + 3) % 256
      const info = await store.write(
        'artifacts/a/r/big.bin',
        Readable.from([body.subarray(0, 100_000), body.subarray(100_000)]),
        {
          size: body.length,
        },
      )
      expect(info.size).toBe(body.length)
      const all = Buffer.concat(await (await store.read('artifacts/a/r/big.bin')).toArray())
      expect(createHash('sha256').update(all).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'))
      const part = Buffer.concat(
        await (await store.read('artifacts/a/r/big.bin', { offset: 10, length: 10 })).toArray(),
      )
      expect([...part]).toEqual([...body.subarray(10, 20)])
      const tail = Buffer.concat(await (await store.read('artifacts/a/r/big.bin', { offset: 299_990 })).toArray())
      expect(tail.length).toBe(10)
      await store.delete('artifacts/a/r/big.bin')
    })

    it('keys may contain slashes, spaces and plus signs', async () => {
      const key = 'artifacts/a/r/dir/sub dir/app+1.0.tar.gz'
      await store.write(key, Buffer.from('x'))
      const keys: string[] = []
      for await (const k of store.list('artifacts/a/r/')) keys.push(k)
      expect(keys).toEqual([key])
      await store.delete(key)
    })

    it('leaves nothing behind when the body is shorter or longer than declared', async () => {
      await expect(store.write('artifacts/a/r/short', Buffer.from('abc'), { size: 4 })).rejects.toBeInstanceOf(
        SizeMismatchError,
      )
      await expect(
        store.write('artifacts/a/r/long', Readable.from([Buffer.from('abcdef')]), { size: 4 }),
      ).rejects.toBeInstanceOf(SizeMismatchError)
      await expect(store.stat('artifacts/a/r/short')).rejects.toBeInstanceOf(BlobNotFoundError)
      await expect(store.stat('artifacts/a/r/long')).rejects.toBeInstanceOf(BlobNotFoundError)
    })

    it('does not let a failed overwrite corrupt the existing object', async () => {
      await store.write('artifacts/a/r/keep', Buffer.from('original'))
      await expect(store.write('artifacts/a/r/keep', Buffer.from('xx'), { size: 5 })).rejects.toBeInstanceOf(
        SizeMismatchError,
      )
      expect(await text(await store.read('artifacts/a/r/keep'))).toBe('original')
      await store.delete('artifacts/a/r/keep')
    })

    it('throws BlobNotFoundError for missing objects and deletes idempotently', async () => {
      await expect(store.stat('artifacts/none')).rejects.toBeInstanceOf(BlobNotFoundError)
      await expect(store.read('artifacts/none')).rejects.toBeInstanceOf(BlobNotFoundError)
      await expect(store.delete('artifacts/none')).resolves.toBeUndefined()
    })

    it.each(['../escape', '/etc/passwd', 'a/../../b', 'a//b', 'a/./b', '', 'a\\b', 'a\u0000b'])(
      'rejects the unsafe key %j',
      async (key) => {
        await expect(store.write(key, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidKeyError)
        await expect(store.stat(key)).rejects.toBeInstanceOf(InvalidKeyError)
      },
    )

    it('copies an object over another in one step, and moves one away', async () => {
      await store.write('uploads/a/r/up', Buffer.from('verified bytes'))
      await store.write('artifacts/a/r/dir/served.bin', Buffer.from('old'))
      const copied = await store.copy('uploads/a/r/up', 'artifacts/a/r/dir/served.bin')
      expect(copied.size).toBe(14)
      expect(await text(await store.read('artifacts/a/r/dir/served.bin'))).toBe('verified bytes')
      expect(await text(await store.read('uploads/a/r/up'))).toBe('verified bytes')
      const moved = await store.move('uploads/a/r/up', 'uploads/a/r/up.sealed')
      expect(moved).toMatchObject({ key: 'uploads/a/r/up.sealed', size: 14 })
      await expect(store.stat('uploads/a/r/up')).rejects.toBeInstanceOf(BlobNotFoundError)
      expect(await text(await store.read('uploads/a/r/up.sealed'))).toBe('verified bytes')
      await expect(store.copy('uploads/a/r/none', 'artifacts/a/r/x')).rejects.toBeInstanceOf(BlobNotFoundError)
      await expect(store.move('uploads/a/r/none', 'artifacts/a/r/x')).rejects.toBeInstanceOf(BlobNotFoundError)
      await expect(store.stat('artifacts/a/r/x')).rejects.toBeInstanceOf(BlobNotFoundError)
      await store.delete('uploads/a/r/up.sealed')
      await store.delete('artifacts/a/r/dir/served.bin')
    })

    it('lists only keys under the prefix', async () => {
      await store.write('artifacts/a/r1/x', Buffer.from('1'))
      await store.write('artifacts/a/r2/y', Buffer.from('2'))
      const keys: string[] = []
      for await (const k of store.list('artifacts/a/r1/')) keys.push(k)
      expect(keys).toEqual(['artifacts/a/r1/x'])
      await store.delete('artifacts/a/r1/x')
      await store.delete('artifacts/a/r2/y')
    })

    it('hands out download and upload URLs that name the key', async () => {
      const get = new URL(
        await store.redirectUrl('artifacts/a/r/f.whl', 'GET', { baseUrl: 'http://127.0.0.1:1/', ttl: 60 }),
      )
      const put = new URL(await store.uploadUrl('artifacts/a/r/f.whl', { baseUrl: 'http://127.0.0.1:1/' }))
      expect(get.pathname).toMatch(/artifacts\/a\/r\/f\.whl$/)
      expect(put.pathname).toMatch(/artifacts\/a\/r\/f\.whl$/)
      expect(get.toString()).not.toBe(put.toString())
    })

    it('passes its start-up check', async () => {
      await expect(store.check()).resolves.toBeUndefined()
    })
  })
}
