import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import type { BrokerConfig } from '../config/defaults'
import { BrokerError, errLine } from '../errors'
import type { Manager } from '../manager/manager'
import { Connection } from './connection'
import { refusePlain } from './tls'

/** The TCP listener: accepts sockets, enforces the connection limit, tracks live connections. */
export class BrokerServer {
  readonly connections = new Set<Connection>()
  private readonly server: Server
  private nextId = 1
  /** The TLS listener's actual port once listening (named in TLS_REQUIRED refusals). */
  tlsPort: number | null = null

  constructor (private readonly config: BrokerConfig, private readonly manager: Manager) {
    this.server = createServer({ allowHalfOpen: true }, (socket) => {
      if (config.tls?.required === true) refusePlain(socket, this.tlsPort ?? config.tls.port)
      else this.accept(socket)
    })
  }

  listen (port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err)
      this.server.once('error', onError)
      this.server.listen(port, host, () => {
        this.server.off('error', onError)
        resolve(this.server.address() as AddressInfo)
      })
    })
  }

  /** Stops accepting, says goodbye to every client and waits for the listener to close. */
  close (): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve())
      for (const c of this.connections) {
        c.flush()
        c.socket.destroy()
      }
    })
  }

  /** Takes a new client socket (plain, or TLS after its handshake: see tls.ts). */
  accept (socket: Socket): void {
    if (this.connections.size >= this.config.maxConnections) {
      socket.end(errLine(new BrokerError('TOO_MANY_CONNECTIONS',
        `the broker is at its limit of ${this.config.maxConnections} connections; try again later`)) + '\n')
      socket.on('error', () => {})
      return
    }
    const conn = new Connection(this.nextId++, socket, this.manager, this.config, (c) => this.connections.delete(c))
    this.connections.add(conn)
  }
}
