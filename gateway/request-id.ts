import { randomBytes } from 'node:crypto'

/**
 * Request ids (`X-Request-Id`, the `reqId` of log lines): 36 characters shaped as a UUID, whose first 80 bits are
 * random per process and whose last 48 count this process's requests. They are unique across instances and
 * restarts like random UUIDs, and cost a counter increment rather than a random draw on the hottest path
 * (a replayed answer). Not secrets: nothing is authorized by knowing one.
 */
const hex = randomBytes(10).toString('hex')
const PREFIX = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-`
const WRAP = 2 ** 48
let count = 0

/** requestId returns the next id of this process. */
export function requestId(): string {
  count = (count + 1) % WRAP
  return PREFIX + count.toString(16).padStart(12, '0')
}
