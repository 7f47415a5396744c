import { readFileSync } from 'node:fs'
import type { AddressInfo, Socket } from 'node:net'
import { createServer, type Server, type TLSSocket } from 'node:tls'
import type { TlsConfig } from '../auth/config'
import { ConfigError, errorLine } from '../errors'
import type { Logger } from '../log'

/** What the TLS listener hands decrypted connections to (BrokerServer.accept). */
export interface Acceptor {
  accept: (socket: Socket) => void
}

function readPem (file: string, field: string): Buffer {
  try {
    return readFileSync(file)
  } catch (err) {
    throw new ConfigError(`invalid config: tls.${field}: cannot read ${file}: ${(err as Error).message}`)
  }
}

/**
 * The optional TLS listener, on its own port. A TLSSocket is a net.Socket, so
 * after the handshake the connection takes exactly the plain code path
 * (Connection, Manager, connection limit).
 */
export class TlsListener {
  private readonly server: Server
  /** Raw sockets, handshake included, so close() never waits on a stalled handshake. */
  private readonly sockets = new Set<Socket>()

  constructor (private readonly cfg: TlsConfig, private readonly defaultHost: string, acceptor: Acceptor, private readonly log: Logger) {
    const mode = cfg.clientCert ?? 'none'
    this.server = createServer({
      cert: readPem(cfg.certFile, 'certFile'),
      key: readPem(cfg.keyFile, 'keyFile'),
      ca: cfg.caFile === undefined ? undefined : readPem(cfg.caFile, 'caFile'),
      requestCert: mode !== 'none',
      rejectUnauthorized: mode === 'require',
      allowHalfOpen: true,
      minVersion: 'TLSv1.2',
    }, (socket: TLSSocket) => {
      if (mode !== 'none') {
        const peer = socket.getPeerCertificate()
        this.log.info({ ip: socket.remoteAddress, authorized: socket.authorized, subject: peer?.subject?.CN }, 'tls client certificate')
      }
      acceptor.accept(socket)
    })
    this.server.on('connection', (raw: Socket) => {
      this.sockets.add(raw)
      raw.once('close', () => this.sockets.delete(raw))
    })
    this.server.on('tlsClientError', (err, socket) => {
      this.log.info({ ip: socket.remoteAddress, err: err.message }, 'tls handshake failed')
    })
  }

  listen (): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err)
      this.server.once('error', onError)
      this.server.listen(this.cfg.port, this.cfg.host ?? this.defaultHost, () => {
        this.server.off('error', onError)
        resolve(this.server.address() as AddressInfo)
      })
    })
  }

  close (): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) { resolve(); return }
      this.server.close(() => resolve())
      for (const s of this.sockets) s.destroy()
    })
  }
}

/** The plain port when `tls.required`: one ERR line naming the TLS port, then close. */
export function refusePlain (socket: Socket, tlsPort: number): void {
  refuseSocket(socket, errorLine('TLS_REQUIRED', { port: tlsPort }))
}

/** Sends one ERR line and closes, reading (and discarding) input so the client's FIN is seen; a client that never closes is cut off. */
export function refuseSocket (socket: Socket, line: string): void {
  socket.on('error', () => {})
  socket.resume()
  setTimeout(() => socket.destroy(), 10_000).unref()
  socket.end(line + '\n')
}
