/**
 * What the client needs from a connection, whatever carries it: send
 * command lines, receive the broker's lines, learn of the end. TCP (with or
 * without TLS) is `tcpTransport.ts`; another carrier (a WebSocket speaking the
 * same lines, one or more commands per frame and one line per frame back)
 * implements the same interface and nothing else changes.
 */
export interface Transport {
  /** Sends command lines, in order (no line terminators; no line holds a line break). */
  send (lines: readonly string[]): void
  /** Closes the sending side once everything sent is out; the broker then closes the rest. */
  end (): void
  /** Drops the connection at once. */
  destroy (): void
}

/** What a transport reports. Each handler runs on the transport's own events, never during `send`. */
export interface TransportHandlers {
  /** One line from the broker (a reply or an EVENT), without its terminator. */
  line (text: string): void
  /** The connection has ended, once; `err` says why when it failed. */
  closed (err: Error | null): void
}

/** Opens a connection; resolves once it can carry lines, rejects if it cannot be opened. */
export type OpenTransport = (handlers: TransportHandlers) => Promise<Transport>
