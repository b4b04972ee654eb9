/**
 * A worker process whose only handler (kind `test-blocking`) reports the job it started and never finishes, so a
 * test can kill the process in the middle of a job: `node --import tsx blocking-worker-entry.ts <database url>`.
 * Everything else is the real worker with its default lease and heartbeat.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openCatalog } from '../../gateway/catalog/db.ts'
import { FilesystemStore } from '../../gateway/storage/filesystem-store.ts'
import { startWorkers } from '../../workers/index.ts'

const catalog = await openCatalog(process.argv[2])
const blobs = new FilesystemStore({
  root: mkdtempSync(join(tmpdir(), 'pkgway-blocking-')),
  signingSecret: 'x'.repeat(32),
  presignTtl: 900,
  uploadTtl: 3600,
})
const silent = { debug() {}, info() {}, warn() {}, error() {} }
startWorkers({
  catalog,
  blobs,
  log: silent,
  config: {
    pollIntervalMs: 50,
    handlers: [
      {
        kind: 'test-blocking',
        async run(ctx) {
          process.stdout.write(`started ${ctx.job.id} as ${ctx.workerId}\n`)
          await new Promise(() => {})
          return undefined
        },
      },
    ],
  },
})
