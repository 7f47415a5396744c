import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { LineDecoder } from './lineDecoder'
import type { TlsOptions } from './options'
import type { OpenTransport, Transport, TransportHandlers } from './transport'

export interface TcpTarget {
  host: string
  port: number
  /** TLS options, or false for plain TCP. */
  tls: false | TlsOptions
  connectTimeoutMs: number
  maxLineBytes: number
}

/** The TCP (or TLS) transport: LF-terminated lines both ways. */
export function tcpTransport (target: TcpTarget): OpenTransport {
  return (handlers) => new Promise<Transport>((resolve, reject) => {
    const socket: Socket = target.tls === false
      ? netConnect({ host: target.host, port: target.port })
      : tlsConnect({ host: target.host, port: target.port, servername: isIp(target.host) ? undefined : target.host, ...target.tls })
    const ready = target.tls === false ? 'connect' : 'secureConnect'
    let open = false
    let failure: Error | null = null
    const timer = setTimeout(() => {
      socket.destroy(new Error(`no connection within ${target.connectTimeoutMs} ms (connectTimeoutMs)`))
    }, target.connectTimeoutMs)
    const decoder = new LineDecoder(target.maxLineBytes)
    socket.setNoDelay(true)
    socket.once(ready, () => {
      clearTimeout(timer)
      open = true
      resolve(new TcpConnection(socket))
    })
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk, handlers.line)
      } catch (err) {
        socket.destroy(err as Error)
      }
    })
    socket.on('error', (err) => { failure ??= err })
    socket.on('close', () => {
      clearTimeout(timer)
      if (open) handlers.closed(failure)
      else reject(failure ?? new Error('connection closed while opening'))
    })
  })
}

function isIp (host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':')
}

class TcpConnection implements Transport {
  constructor (private readonly socket: Socket) {}

  send (lines: readonly string[]): void {
    if (this.socket.destroyed) return
    this.socket.write(lines.length === 1 ? lines[0] + '\n' : lines.join('\n') + '\n')
  }

  end (): void {
    this.socket.end()
  }

  destroy (): void {
    this.socket.destroy()
  }
}

export type { TransportHandlers }
