/**
 * A TCP proxy between a client and a real broker, on loopback: it records the
 * lines the client sends, can hold the broker's replies back (so a test sees
 * what a client sends while it waits), and can cut every connection (a
 * network failure, without stopping the broker).
 */
import { createServer, connect, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'

export class LineProxy {
  /** Every line clients sent through the proxy, in order. */
  readonly sent: string[] = []
  private readonly pairs = new Set<{ client: Socket, upstream: Socket }>()
  private held: Array<() => void> | null = null
  private partial = ''

  private constructor (private readonly server: Server, readonly port: number) {}

  static async start (t: { teardown: (fn: () => unknown) => void }, brokerPort: number): Promise<LineProxy> {
    let proxy: LineProxy | null = null
    const server = createServer({ allowHalfOpen: true }, (client) => proxy!.accept(client, brokerPort))
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    proxy = new LineProxy(server, (server.address() as AddressInfo).port)
    t.teardown(() => proxy!.stop())
    return proxy
  }

  /** Connections open through the proxy now. */
  get connections (): number {
    return this.pairs.size
  }

  /** From now on the broker's bytes wait in the proxy until release(). */
  holdReplies (): void {
    this.held ??= []
  }

  /** Forwards what was held, and everything after it. */
  release (): void {
    const held = this.held ?? []
    this.held = null
    for (const forward of held) forward()
  }

  /** Drops every connection at once, both sides, as a network failure would. */
  cut (): void {
    for (const { client, upstream } of this.pairs) {
      client.destroy()
      upstream.destroy()
    }
    this.pairs.clear()
  }

  async stop (): Promise<void> {
    this.cut()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }

  private accept (client: Socket, brokerPort: number): void {
    const upstream = connect(brokerPort, '127.0.0.1')
    const pair = { client, upstream }
    this.pairs.add(pair)
    client.on('data', (chunk: Buffer) => {
      this.record(chunk.toString('utf8'))
      upstream.write(chunk)
    })
    upstream.on('data', (chunk: Buffer) => {
      const forward = (): void => { if (!client.destroyed) client.write(chunk) }
      if (this.held !== null) this.held.push(forward)
      else forward()
    })
    const close = (): void => {
      this.pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('end', () => upstream.end())
    upstream.on('end', () => {
      if (this.held !== null) this.held.push(() => client.end())
      else client.end()
    })
    client.on('close', close)
    upstream.on('close', () => { if (this.held === null) close() })
    client.on('error', () => {})
    upstream.on('error', () => {})
  }

  private record (text: string): void {
    const parts = (this.partial + text).split('\n')
    this.partial = parts.pop()!
    this.sent.push(...parts)
  }
}
