import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import { Webhook as Verifier } from 'standardwebhooks'

/** What a receiver does with one request: answer with a status (and headers), or never answer. */
export type Reply = { status: number, message?: string, headers?: Record<string, string> } | 'hang'

/** One POST as the receiver saw it. */
export interface Received {
  method: string
  url: string
  headers: IncomingHttpHeaders
  /** The body bytes, as received. */
  body: Buffer
}

/**
 * A real webhook receiver: node:http on 127.0.0.1, an ephemeral port. It
 * answers requests from a plan (a list of replies used in order, then 200),
 * records every request and counts TCP connections, so a test can tell that
 * a refused address was never connected to.
 */
export class Receiver {
  readonly received: Received[] = []
  /** TCP connections accepted so far. */
  connections = 0
  /** Replies for the next requests, in order; when empty, 200. */
  plan: Reply[] = []
  private readonly server: Server
  private readonly sockets = new Set<Socket>()
  private readonly hanging: ServerResponse[] = []
  private waiters: Array<{ n: number, resolve: () => void }> = []

  private constructor (server: Server) {
    this.server = server
    server.on('connection', (s: Socket) => {
      this.connections++
      this.sockets.add(s)
      s.on('close', () => this.sockets.delete(s))
    })
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res))
  }

  /** Starts a plain receiver, or an https one with the given certificate; on an ephemeral port unless one is given. */
  static async start (tls?: { cert: Buffer, key: Buffer }, port = 0): Promise<Receiver> {
    const server = tls === undefined ? createHttpServer() : createHttpsServer({ cert: tls.cert, key: tls.key })
    const r = new Receiver(server)
    await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve))
    return r
  }

  get port (): number {
    return (this.server.address() as AddressInfo).port
  }

  url (path = '/hook', host = '127.0.0.1', scheme = 'http'): string {
    return `${scheme}://${host}:${this.port}${path}`
  }

  /** Resolves once `n` requests in total have arrived. */
  async waitFor (n: number): Promise<void> {
    if (this.received.length >= n) return
    await new Promise<void>(resolve => this.waiters.push({ n, resolve }))
  }

  /** Answers every hanging request with `status` (a receiver that recovers). */
  release (status = 200): void {
    for (const res of this.hanging.splice(0)) res.writeHead(status).end()
  }

  /** Answers the oldest hanging request. */
  releaseOldest (status: number, headers?: Record<string, string>): void {
    this.hanging.shift()?.writeHead(status, headers).end()
  }

  async close (): Promise<void> {
    for (const res of this.hanging.splice(0)) res.destroy()
    for (const s of this.sockets) s.destroy()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }

  private onRequest (req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      this.received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) })
      const reply = this.plan.shift() ?? { status: 200 }
      if (reply === 'hang') this.hanging.push(res)
      else if (reply.message !== undefined) res.writeHead(reply.status, reply.message, reply.headers).end('answer body is ignored')
      else res.writeHead(reply.status, reply.headers).end('answer body is ignored')
      const ready = this.waiters.filter(w => this.received.length >= w.n)
      this.waiters = this.waiters.filter(w => this.received.length < w.n)
      for (const w of ready) w.resolve()
    })
  }
}

/**
 * Checks a received request with the `standardwebhooks` package's verifier,
 * as a receiver would, at the receiver's time `nowMs` (the verifier refuses
 * timestamps more than 5 minutes from its clock, and tests move a manual
 * clock by hours). Returns the parsed body; throws when the signature does
 * not verify.
 */
export function verifyWithStandardWebhooks (secret: string, r: Received, nowMs: number): unknown {
  const realNow = Date.now
  Date.now = () => nowMs
  try {
    return new Verifier(secret).verify(r.body, r.headers as Record<string, string>)
  } finally {
    Date.now = realNow
  }
}
