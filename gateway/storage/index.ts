import { quietSdkWarnings } from '../../config/load.ts'
import type { PkgwayConfig } from '../../config/schema.ts'
import type { BlobStore } from './blob-store.ts'
import { FilesystemStore } from './filesystem-store.ts'
import type { SigningKeys } from './signing-keys.ts'

/**
 * createBlobStore builds the store the configuration names. The S3 store is loaded on use: the AWS SDK is the
 * largest import of the gateway, and a filesystem install should not pay for it at every start.
 */
export async function createBlobStore(config: PkgwayConfig, signing: string | SigningKeys): Promise<BlobStore> {
  const { storage } = config
  switch (storage.kind) {
    case 's3': {
      quietSdkWarnings()
      const { S3Store } = await import('./s3-store.ts')
      return new S3Store({ ...storage.s3!, presignTtl: storage.presignTtl, uploadTtl: storage.uploadTtl })
    }
    case 'filesystem':
      return new FilesystemStore({
        root: storage.root,
        signingSecret: signing,
        presignTtl: storage.presignTtl,
        uploadTtl: storage.uploadTtl,
      })
  }
}
