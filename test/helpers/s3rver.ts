import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import S3rver from 's3rver'

export interface S3Server {
  endpoint: string
  bucket: string
  close(): Promise<void>
}

/**
 * startS3rver runs a real S3-compatible server on 127.0.0.2, a different loopback address than the gateway
 * (127.0.0.1), because npm keeps Authorization across same-host redirects and S3 rejects such requests.
 */
export async function startS3rver(bucket = 'artifacts'): Promise<S3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'pkgway-s3-'))
  const server = new S3rver({
    address: '127.0.0.2',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket, configs: [] }],
  })
  const { port } = (await server.run()) as unknown as { port: number }
  return {
    endpoint: `http://127.0.0.2:${port}`,
    bucket,
    async close() {
      await server.close()
      await rm(directory, { recursive: true, force: true })
    },
  }
}

export const s3Credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }
