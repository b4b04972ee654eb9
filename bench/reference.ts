/**
 * The reference target of `npm run bench`: a bare Fastify server that answers every bench path with the answer the
 * gateway gave for it once — same status, headers (Content-Type, ETag, Cache-Control, Vary, Location, …) and body
 * bytes, held in memory — and a 304 to an `If-None-Match` equal to the ETag, like the gateway. No authentication,
 * no catalog: the cost of answering, and nothing else. `GET /__bench/ready` answers 200 once it listens.
 *
 *   node --import tsx bench/reference.ts <routes.json> <port>
 */
import { readFileSync } from 'node:fs'
import Fastify from 'fastify'

/** One recorded gateway answer: path with any query, and the body as base64. */
export interface ReferenceRoute {
  path: string
  status: number
  headers: Record<string, string>
  body: string
}

/**
 * Headers a 304 repeats from the 200 it stands for (RFC 9110 §15.4.5), and the request id, which the gateway's 304
 * carries too: the two 304s are then the same bytes but for the id's value.
 */
const NOT_MODIFIED_HEADERS = ['etag', 'cache-control', 'vary', 'expires', 'content-location', 'date', 'x-request-id']

async function main() {
  const [file, port] = process.argv.slice(2)
  const routes = JSON.parse(readFileSync(file, 'utf8')) as ReferenceRoute[]
  const app = Fastify({ logger: false })
  const answers = new Map<string, { route: ReferenceRoute; body: Buffer; notModified: Record<string, string> }>()
  for (const route of routes) {
    const notModified = Object.fromEntries(
      Object.entries(route.headers).filter(([name]) => NOT_MODIFIED_HEADERS.includes(name)),
    )
    answers.set(route.path, { route, body: Buffer.from(route.body, 'base64'), notModified })
  }
  app.get('/__bench/ready', async () => 'ok')
  // One wildcard route and a Map, so paths holding `:` or `*` (OCI digests, say) need no escaping.
  app.get('/*', (request, reply) => {
    const answer = answers.get(request.url)
    if (!answer) {
      reply.code(404).send()
      return
    }
    const etag = answer.route.headers.etag
    if (etag !== undefined && request.headers['if-none-match'] === etag) {
      reply.code(304).headers(answer.notModified).send()
      return
    }
    reply.code(answer.route.status).headers(answer.route.headers).send(answer.body)
  })
  await app.listen({ host: '127.0.0.1', port: Number(port) })
  const stop = () => {
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

await main()
