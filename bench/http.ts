/** Single requests of the bench (probing, checking the reference, cold cases), over undici without redirects. */
import { request } from 'undici'

/** One answer, headers lower-cased and joined. */
export interface Answer {
  status: number
  headers: Record<string, string>
  body: Buffer
}

/** Headers that describe the connection or the moment rather than the answer; the reference sets its own. */
const PER_CONNECTION = new Set(['connection', 'keep-alive', 'transfer-encoding', 'date', 'content-length'])

/** get requests url and reads the whole answer. */
export async function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return send('GET', url, headers)
}

/** send makes one request without a body and reads the whole answer. */
export async function send(method: 'GET' | 'POST', url: string, headers: Record<string, string>): Promise<Answer> {
  const res = await request(url, { method, headers, headersTimeout: 60_000, bodyTimeout: 60_000 })
  const body = Buffer.from(await res.body.arrayBuffer())
  const flat: Record<string, string> = {}
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value
  }
  return { status: res.statusCode, headers: flat, body }
}

/** answerHeaders keeps the headers a replay of the answer should carry. */
export function answerHeaders(answer: Answer): Record<string, string> {
  return Object.fromEntries(Object.entries(answer.headers).filter(([name]) => !PER_CONNECTION.has(name)))
}

/** describe shortens an answer for an error message. */
export function describe(answer: Answer): string {
  return `${answer.status} ${answer.body.toString('utf8').slice(0, 300)}`
}
