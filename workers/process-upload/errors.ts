/** RejectedUpload means the uploaded bytes are unacceptable; the artifact becomes FAILED with this one-line reason. */
export class RejectedUpload extends Error {
  constructor(readonly reason: string) {
    super(reason)
    this.name = 'RejectedUpload'
  }
}

export const UPLOAD_MISSING = 'upload not found in storage'

/** UploadMissing means the object is not in storage (yet); the job retries and finally fails the artifact. */
export class UploadMissing extends Error {
  constructor(readonly key: string) {
    super(`${UPLOAD_MISSING}: ${key}`)
    this.name = 'UploadMissing'
  }
}

/** oneLine squeezes an error message into one short line, fit for `status_reason`. */
export function oneLine(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}
