import { request as httpRequest } from 'node:http'

/**
 * A client that sends requests the way the keygen CLI (Go net/http, keygen-go v2.9.0) does, header by header,
 * so tests can replay ../shared/spec/keygen-cli-wire.md exactly.
 */

export const CLI_USER_AGENT = 'keygen/1.5 sdk/2.9.0 go/go1.19.8 linux/amd64 cli/2.9.1'

export interface WireResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
  /** The body parsed as JSON, or undefined when it is empty; throws when it is not JSON. */
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON:API documents
  json: any
}

export interface WireRequest {
  method: string
  /** Absolute URL. */
  url: string
  /** Headers in the order they go on the wire; Host is added by Node first. */
  headers: Array<[string, string]>
  body?: Buffer | string
  /** Send the body with Transfer-Encoding: chunked (Go does so for a zero-length body of unknown size). */
  chunked?: boolean
}

export function send(req: WireRequest): Promise<WireResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(req.url)
    const r = httpRequest(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method: req.method, setHost: true },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const body = Buffer.concat(chunks)
          let parsed: unknown
          let parseError: unknown
          if (body.length > 0) {
            try {
              parsed = JSON.parse(body.toString('utf8'))
            } catch (err) {
              parseError = err
            }
          }
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            get json() {
              if (parseError) throw new Error(`response is not JSON: ${body.toString('utf8').slice(0, 200)}`)
              return parsed
            },
          })
        })
        res.on('error', reject)
      },
    )
    r.on('error', reject)
    for (const [name, value] of req.headers) r.setHeader(name, value)
    if (req.chunked) {
      r.setHeader('Transfer-Encoding', 'chunked')
      if (req.body?.length) r.write(req.body)
      r.end()
      return
    }
    if (req.body !== undefined) r.setHeader('Content-Length', String(Buffer.byteLength(req.body)))
    r.end(req.body)
  })
}

/** apiRequest sends an API call with exactly the CLI's headers; `body` is serialized compactly plus "\n". */
export function cliRequest(
  base: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<WireResponse> {
  const headers: Array<[string, string]> = [['User-Agent', CLI_USER_AGENT]]
  let payload: string | undefined
  if (body !== undefined) payload = `${JSON.stringify(body)}\n`
  else if (method === 'POST') payload = ''
  headers.push(['Accept', 'application/vnd.api+json'], ['Authorization', `Bearer ${token}`])
  if (body !== undefined) headers.push(['Content-Type', 'application/vnd.api+json'])
  headers.push(['Keygen-Version', '1.5'], ['Accept-Encoding', 'gzip'])
  return send({ method, url: `${base}${path}`, headers, body: payload })
}

/** uploadPut is the CLI's PUT to the Location URL: a plain Go client, no Authorization, Go's MIME guess. */
export function uploadPut(
  location: string,
  data: Buffer,
  contentType = 'application/octet-stream',
): Promise<WireResponse> {
  const headers: Array<[string, string]> = [
    ['User-Agent', 'Go-http-client/1.1'],
    ['Content-Type', contentType],
    ['Accept-Encoding', 'gzip'],
  ]
  return send({
    method: 'PUT',
    url: location,
    headers,
    body: data.length ? data : undefined,
    chunked: data.length === 0,
  })
}
