import { Readable } from 'node:stream'
import { GatewayError } from '../errors.ts'

export class UploadTooLargeError extends GatewayError {
  constructor(readonly limit: number) {
    super('UPLOAD_TOO_LARGE', `The upload is larger than the ${limit} bytes it may have`, 413)
  }
}

export class UploadIdleError extends GatewayError {
  constructor(readonly idleMs: number) {
    super('UPLOAD_TIMEOUT', `No upload data arrived for ${idleMs / 1000} seconds; the upload was ended`, 408)
  }
}

export class UploadAbortedError extends GatewayError {
  constructor(readonly received: number) {
    super('UPLOAD_INCOMPLETE', `The client closed the connection after ${received} bytes`, 400)
  }
}

/**
 * boundedBody passes an upload's bytes on with backpressure, and fails the returned stream (never the source, so the
 * gateway can still answer on the connection) with {@link UploadTooLargeError} once more than maxBytes arrived,
 * {@link UploadIdleError} when the client sent nothing for idleMs while the store was ready for more, or {@link UploadAbortedError} when the client went away.
 */
export function boundedBody(source: Readable, opts: { maxBytes: number; idleMs: number }): Readable {
  let received = 0
  let timer: NodeJS.Timeout | undefined
  let settled = false
  const out = new Readable({
    read: () => {
      if (settled) return
      arm()
      source.resume()
    },
    destroy: (err, callback) => {
      stop()
      callback(err)
    },
  })
  const stop = () => {
    settled = true
    clearTimeout(timer)
    source.off('data', onData)
    source.off('end', onEnd)
    source.off('close', onClose)
    source.pause()
  }
  const fail = (err: Error) => {
    if (settled) return
    stop()
    out.destroy(err)
  }
  const arm = () => {
    clearTimeout(timer)
    timer = setTimeout(() => fail(new UploadIdleError(opts.idleMs)), opts.idleMs)
  }
  const onData = (chunk: Buffer) => {
    received += chunk.length
    if (received > opts.maxBytes) return fail(new UploadTooLargeError(opts.maxBytes))
    if (out.push(chunk)) return arm()
    // The store is behind: wait for it without counting the pause against the client.
    clearTimeout(timer)
    source.pause()
  }
  const onEnd = () => {
    if (settled) return
    stop()
    out.push(null)
  }
  const onClose = () => fail(new UploadAbortedError(received))
  source.on('data', onData)
  source.on('end', onEnd)
  source.on('close', onClose)
  // The request emits 'error' (ECONNRESET) as well as 'close' when the client goes away; 'close' reports it.
  source.on('error', () => {})
  arm()
  return out
}
