import { Duplex } from 'node:stream'
import type { WebSocket, RawData } from 'ws'

/**
 * A WebSocket seen as the byte stream a TCP client is, so a WebSocket client
 * is a Connection like any other (framing, limits, idle timeout, back-pressure):
 * - each incoming frame is one or more command lines (a missing final newline is added);
 * - each outgoing line becomes its own text frame;
 * - a write completes when ws has handed its frames to the socket, so a client
 *   that stops reading fills the stream's buffer, write() returns false and the
 *   Connection pauses, then drops it after drainTimeoutMs, as on TCP;
 * - pausing the stream pauses reading the WebSocket's socket.
 */
export class WsLineStream extends Duplex {
  constructor (private readonly ws: WebSocket, readonly remoteAddress: string | undefined) {
    super({ allowHalfOpen: true, decodeStrings: false })
    ws.on('message', (data: RawData) => this.onMessage(data as Buffer))
    ws.on('close', () => {
      this.push(null)
      this.destroy()
    })
    ws.on('error', () => { /* 'close' follows */ })
  }

  private onMessage (data: Buffer): void {
    const full = data.length > 0 && data[data.length - 1] === 0x0a ? data : Buffer.concat([data, NEWLINE])
    if (!this.push(full)) this.ws.pause()
  }

  override _read (): void {
    this.ws.resume()
  }

  override _write (chunk: string | Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8')
    let start = 0
    let last = -1
    const lines: string[] = []
    while ((last = text.indexOf('\n', start)) !== -1) {
      lines.push(text.slice(start, last))
      start = last + 1
    }
    if (start < text.length) lines.push(text.slice(start))
    if (lines.length === 0 || this.ws.readyState !== this.ws.OPEN) {
      done()
      return
    }
    for (let i = 0; i < lines.length - 1; i++) this.ws.send(lines[i])
    this.ws.send(lines[lines.length - 1], () => done())
  }

  override _final (done: (err?: Error | null) => void): void {
    this.ws.close(1000)
    done()
  }

  override _destroy (err: Error | null, done: (err?: Error | null) => void): void {
    if (this.ws.readyState !== this.ws.CLOSED) this.ws.terminate()
    done(err)
  }

  /** As net.Socket's; frames already go out one per line. */
  setNoDelay (): this {
    return this
  }
}

const NEWLINE = Buffer.from('\n')
