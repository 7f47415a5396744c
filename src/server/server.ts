import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import type { BrokerConfig } from '../config/defaults'
import type { Manager } from '../manager/manager'
import { Connection } from './connection'
import { refusePlain, refuseSocket } from './tls'
import { ConnectionLimits } from './connectionLimits'

/** The TCP listener: accepts sockets, enforces the connection limit, tracks live connections. */
export class BrokerServer {
  readonly connections = new Set<Connection>()
  /** Sockets refused by a limit, still saying goodbye. */
  private readonly refused = new Set<Socket>()
  private readonly server: Server
  private nextId = 1
  /** The TLS listener's actual port once listening (named in TLS_REQUIRED refusals). */
  tlsPort: number | null = null
  /** maxConnections, maxConnectionsPerIp, idleTimeoutMs; counts connections for `stats`. */
  readonly limits: ConnectionLimits

  constructor (private readonly config: BrokerConfig, private readonly manager: Manager) {
    this.server = createServer({ allowHalfOpen: true }, (socket) => {
      if (config.tls?.required === true) {
        refusePlain(socket, this.tlsPort ?? config.tls.port)
        this.trackRefused(socket)
      } else {
        this.accept(socket)
      }
    })
    this.limits = new ConnectionLimits(config, manager.ctx.stats, manager.ctx.log, manager.ctx.clock)
  }

  listen (port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err)
      this.server.once('error', onError)
      this.server.listen(port, host, () => {
        this.server.off('error', onError)
        // Only now: an error from listen() itself is the caller's to report (the CLI says it in one line).
        this.server.on('error', (err) => this.manager.ctx.log.error({ err }, 'listener error'))
        resolve(this.server.address() as AddressInfo)
      })
    })
  }

  /** Stops accepting, says goodbye to every client and waits for the listener to close. */
  close (): Promise<void> {
    this.limits.stop()
    this.manager.ctx.stats.stop()
    return new Promise((resolve) => {
      this.server.close(() => resolve())
      for (const c of this.connections) {
        c.flush()
        c.socket.destroy()
      }
      for (const s of this.refused) s.destroy()
    })
  }

  /** Refused sockets are destroyed on close() so shutdown never waits for a client that keeps its side open. */
  private trackRefused (socket: Socket): void {
    this.refused.add(socket)
    socket.once('close', () => this.refused.delete(socket))
  }

  /** Takes a new client socket (plain, or TLS after its handshake: see tls.ts); connection limits apply to both. */
  accept (socket: Socket): Connection | null {
    const refusal = this.limits.refusal(socket, this.connections.size)
    if (refusal !== null) {
      refuseSocket(socket, refusal)
      this.trackRefused(socket)
      return null
    }
    const conn = new Connection(this.nextId++, socket, this.manager, this.config, (c) => {
      this.connections.delete(c)
      this.limits.closed(c)
    })
    this.connections.add(conn)
    this.limits.opened(conn)
    socket.on('error', (err) => this.manager.ctx.log.debug({ err, session: conn.id }, 'socket error'))
    return conn
  }
}
