import type { Executor } from '../gateway/catalog/accounts.ts'
import { type Enqueued, enqueue } from '../gateway/catalog/jobs.ts'

/**
 * The job kinds, their payloads, and the enqueue helpers the API calls (inside the transaction that creates or
 * uploads the artifact). This module is light on purpose: the API imports it without pulling in the archive code.
 */
export const JOB_KINDS = {
  /** Verify an uploaded artifact (size, checksum) and extract its manifests; payload {@link ArtifactJobPayload}. */
  processUpload: 'process-upload',
  /** Poll storage for a presigned upload the gateway never sees, then process it; payload {@link ArtifactJobPayload}. */
  waitForUpload: 'wait-for-upload',
  /**
   * Ingest a verified OCI image layout tarball: blobs into the store (content-addressed), manifests and descriptors
   * into the catalog; the artifact becomes UPLOADED or FAILED. Enqueued by process-upload; payload
   * {@link ArtifactJobPayload}.
   */
  ociIngest: 'oci-ingest',
} as const

export type JobKind = (typeof JOB_KINDS)[keyof typeof JOB_KINDS]

export interface ArtifactJobPayload {
  artifactId: string
}

/** Attempts of process-upload: a missing object is retried for about four minutes before the artifact fails. */
export const PROCESS_UPLOAD_MAX_ATTEMPTS = 8
/** Attempts of wait-for-upload: only errors count (its polls are reschedules, which do not). */
export const WAIT_FOR_UPLOAD_MAX_ATTEMPTS = 5

/**
 * enqueueProcessUpload queues processing of an artifact whose bytes reached storage through the gateway.
 * Deduplicated per artifact while pending.
 */
export function enqueueProcessUpload(
  db: Executor,
  artifact: { id: string; account_id: string },
  opts: { runAt?: Date } = {},
): Promise<Enqueued> {
  return enqueue<ArtifactJobPayload>(db, {
    kind: JOB_KINDS.processUpload,
    accountId: artifact.account_id,
    payload: { artifactId: artifact.id },
    dedupeKey: `${JOB_KINDS.processUpload}:${artifact.id}`,
    maxAttempts: PROCESS_UPLOAD_MAX_ATTEMPTS,
    runAt: opts.runAt,
  })
}

/** Attempts of oci-ingest: storage and database errors retry; a bad tarball fails at once (no retry). */
export const OCI_INGEST_MAX_ATTEMPTS = 5

/** enqueueOciIngest queues ingestion of a verified image tarball. Deduplicated per artifact while pending. */
export function enqueueOciIngest(db: Executor, artifact: { id: string; account_id: string }): Promise<Enqueued> {
  return enqueue<ArtifactJobPayload>(db, {
    kind: JOB_KINDS.ociIngest,
    accountId: artifact.account_id,
    payload: { artifactId: artifact.id },
    dedupeKey: `${JOB_KINDS.ociIngest}:${artifact.id}`,
    maxAttempts: OCI_INGEST_MAX_ATTEMPTS,
  })
}

/**
 * enqueueWaitForUpload queues the storage poll for an artifact whose client uploads straight to S3 with a
 * presigned URL. Deduplicated per artifact while pending.
 */
export function enqueueWaitForUpload(
  db: Executor,
  artifact: { id: string; account_id: string },
  opts: { runAt?: Date } = {},
): Promise<Enqueued> {
  return enqueue<ArtifactJobPayload>(db, {
    kind: JOB_KINDS.waitForUpload,
    accountId: artifact.account_id,
    payload: { artifactId: artifact.id },
    dedupeKey: `${JOB_KINDS.waitForUpload}:${artifact.id}`,
    maxAttempts: WAIT_FOR_UPLOAD_MAX_ATTEMPTS,
    runAt: opts.runAt ?? new Date(Date.now() + 2000),
  })
}
