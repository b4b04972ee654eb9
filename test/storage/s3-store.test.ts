import { afterAll } from 'vitest'
import { S3Store } from '../../gateway/storage/s3-store.ts'
import { type S3Server, s3Credentials, startS3rver } from '../helpers/s3rver.ts'
import { runBlobStoreContract } from './blob-store-contract.ts'

let server: S3Server | undefined
afterAll(async () => {
  await server?.close()
})

runBlobStoreContract('s3 (s3rver)', async () => {
  server = await startS3rver()
  return new S3Store({
    bucket: server.bucket,
    region: 'us-east-1',
    endpoint: server.endpoint,
    forcePathStyle: true,
    ...s3Credentials,
    prefix: '',
    presignTtl: 900,
    uploadTtl: 3600,
  })
})
