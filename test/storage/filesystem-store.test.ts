import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FilesystemStore } from '../../gateway/storage/filesystem-store.ts'
import { runBlobStoreContract } from './blob-store-contract.ts'

runBlobStoreContract(
  'filesystem',
  () =>
    new FilesystemStore({
      root: mkdtempSync(join(tmpdir(), 'pkgway-fs-')),
      signingSecret: 'x'.repeat(32),
      presignTtl: 900,
      uploadTtl: 3600,
    }),
)
