import { createServer } from 'node:http'
import { enableProcessMetrics, metricsText } from './metrics.ts'

export interface MetricsServer {
  /** `http://host:port/metrics`. */
  url: string
  close(): Promise<void>
}

/**
 * startMetricsServer serves `GET /metrics` on a listener of its own (config `metrics.host`/`metrics.port`),
 * bound to loopback by default, so metrics are never public on the gateway's port. Anything else is 404.
 */
export async function startMetricsServer(opts: { host: string; port: number }): Promise<MetricsServer> {
  enableProcessMetrics()
  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0]
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not Found\n')
      return
    }
    metricsText().then(
      ({ contentType, body }) => {
        response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' })
        response.end(request.method === 'HEAD' ? undefined : body)
      },
      () => response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics failed\n'),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as { port: number }
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
