import { quietSdkWarnings } from '../../config/load.ts'
import type { PkgwayConfig } from '../../config/schema.ts'
import type { BlobStore } from './blob-store.ts'
import { FilesystemStore } from './filesystem-store.ts'
import { S3Store } from './s3-store.ts'

/** createBlobStore builds the store the configuration names. */
export function createBlobStore(config: PkgwayConfig, signingSecret: string): BlobStore {
  const { storage } = config
  switch (storage.kind) {
    case 's3': {
      quietSdkWarnings()
      const s3 = storage.s3!
      return new S3Store({ ...s3, presignTtl: storage.presignTtl, uploadTtl: storage.uploadTtl })
    }
    case 'filesystem':
      return new FilesystemStore({
        root: storage.root,
        signingSecret,
        presignTtl: storage.presignTtl,
        uploadTtl: storage.uploadTtl,
      })
  }
}
