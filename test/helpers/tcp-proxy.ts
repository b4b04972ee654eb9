import { createServer, type Server, type Socket, connect } from 'node:net'

export type ProxyMode = 'up' | 'refuse' | 'hang'

export interface TcpProxy {
  /** `host:port` to connect to instead of the target. */
  readonly address: string
  readonly port: number
  /**
   * setMode switches the proxy: `up` forwards, `refuse` stops listening (connection refused), `hang` accepts and
   * never answers. Leaving `up` drops every open connection, as a server that goes away would.
   */
  setMode(mode: ProxyMode): Promise<void>
  close(): Promise<void>
}

/** startTcpProxy forwards 127.0.0.1:<free port> to target, so a test can take a server away and bring it back. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: ProxyMode = 'up'
  const sockets = new Set<Socket>()
  const track = (s: Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
    s.on('error', () => s.destroy())
  }
  const server: Server = createServer((client) => {
    track(client)
    if (mode !== 'up') return // hang: accepted, never answered
    const upstream = connect(target.port, target.host)
    track(upstream)
    client.pipe(upstream).pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  const listening = () => server.listening
  return {
    address: `127.0.0.1:${port}`,
    port,
    async setMode(next) {
      if (next !== 'up') for (const s of sockets) s.destroy()
      if (next === 'refuse' && listening()) await new Promise<void>((resolve) => server.close(() => resolve()))
      if (next !== 'refuse' && !listening()) {
        await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
      }
      mode = next
    },
    async close() {
      for (const s of sockets) s.destroy()
      if (listening()) await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
