/**
 * Telnet at the byte level for tests: the command and option codes of
 * RFC 854/855/860, and a TCP client that sends and collects raw bytes (the
 * line client of broker.ts decodes UTF-8, which would hide IAC bytes).
 */
import { connect, type Socket } from 'node:net'
import { Wakeup } from './wakeup'

/** Telnet command bytes (RFC 854) and the options the tests use. */
export const T = {
  IAC: 255,
  DONT: 254,
  DO: 253,
  WONT: 252,
  WILL: 251,
  SB: 250,
  EL: 248,
  EC: 247,
  IP: 244,
  SE: 240,
  ECHO: 1,
  SGA: 3,
  TM: 6,
  TTYPE: 24,
  NAWS: 31,
  LINEMODE: 34,
} as const

/** Concatenates text (UTF-8) and byte arrays into one buffer. */
export function bytes (...parts: Array<string | number[]>): Buffer {
  return Buffer.concat(parts.map(p => typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)))
}

const DEFAULT_WAIT_MS = 5000

/** A TCP client that keeps every byte it receives, the way a telnet client sees the stream. */
export class RawClient {
  readonly socket: Socket
  private chunks: Buffer[] = []
  private length = 0
  private readonly wakeup = new Wakeup()
  closed = false

  private constructor (socket: Socket) {
    this.socket = socket
    socket.on('data', (b: Buffer) => { this.chunks.push(b); this.length += b.length; this.wakeup.wake() })
    socket.on('close', () => { this.closed = true; this.wakeup.wake() })
    socket.on('error', () => {})
  }

  static connect (port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new RawClient(s)))
      s.once('error', reject)
    })
  }

  /** Everything received so far. */
  get received (): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.length)]
    return this.chunks[0] ?? Buffer.alloc(0)
  }

  write (...parts: Array<string | number[]>): void {
    this.socket.write(bytes(...parts))
  }

  /** Waits until the bytes received so far hold `count` copies of `text`; returns all bytes received. */
  async waitFor (text: string, count = 1, waitMs = DEFAULT_WAIT_MS): Promise<Buffer> {
    const needle = Buffer.from(text)
    return this.waitUntil(all => {
      let seen = 0
      for (let i = all.indexOf(needle); i !== -1; i = all.indexOf(needle, i + needle.length)) seen++
      return seen >= count
    }, `${count} x ${JSON.stringify(text)}`, waitMs)
  }

  /** Waits until at least `n` bytes have arrived (without gathering them on every read); returns them all. */
  async waitForBytes (n: number, waitMs = DEFAULT_WAIT_MS): Promise<Buffer> {
    const deadline = Date.now() + waitMs
    while (this.length < n) {
      const left = deadline - Date.now()
      if (left <= 0 || this.closed) throw new Error(`only ${this.length} of ${n} bytes within ${waitMs} ms`)
      await this.wakeup.wait(left)
    }
    return this.received
  }

  /** Waits until `check` accepts the bytes received so far; returns them. */
  async waitUntil (check: (all: Buffer) => boolean, what: string, waitMs = DEFAULT_WAIT_MS): Promise<Buffer> {
    const deadline = Date.now() + waitMs
    for (;;) {
      const all = this.received
      if (check(all)) return all
      const left = deadline - Date.now()
      if (left <= 0 || this.closed) throw new Error(`no ${what} within ${waitMs} ms; received ${JSON.stringify(all.toString('latin1').slice(-300))}`)
      await this.wakeup.wait(left)
    }
  }

  /** Resolves with everything received once the broker has closed the connection. */
  async untilClosed (waitMs = DEFAULT_WAIT_MS): Promise<Buffer> {
    const deadline = Date.now() + waitMs
    while (!this.closed) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`connection still open; received ${JSON.stringify(this.received.toString('latin1'))}`)
      await this.wakeup.wait(left)
    }
    return this.received
  }

  destroy (): void {
    this.socket.destroy()
  }

}
