import type { TlsOptions } from './options'
import type { OpenTransport, Transport } from './transport'

/** What the client uses of a WebSocket: the property API that browsers, Node's global WebSocket and the `ws` package share. */
interface WebSocketLike {
  send (data: string): void
  close (code?: number): void
  terminate?: () => void
  onopen: ((ev: unknown) => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  onclose: ((ev: { code: number, reason: string }) => void) | null
  onerror: ((ev: { message?: string, error?: unknown }) => void) | null
}

type WebSocketClass = new (url: string, protocols?: string[] | Record<string, unknown>, options?: Record<string, unknown>) => WebSocketLike

export interface WsTarget {
  /** `ws://host:port/ws` or `wss://...`. */
  url: string
  /** TLS options for `wss://` (a private CA, ...): these need the `ws` package, which accepts them. */
  tls: false | TlsOptions
  connectTimeoutMs: number
  /** Longest frame accepted from the broker (a line). */
  maxLineBytes: number
  /** Frames sent are packed with lines up to this many bytes (the broker's `http.maxFrameBytes`). */
  maxFrameBytes: number
}

/**
 * The global WebSocket (browsers, Node 22 and later) when it will do, else
 * the `ws` package, loaded only then: the TCP client never needs it.
 */
async function webSocketClass (needsOptions: boolean): Promise<{ ws: boolean, WebSocket: WebSocketClass }> {
  const global = (globalThis as { WebSocket?: WebSocketClass }).WebSocket
  if (global !== undefined && !needsOptions) return { ws: false, WebSocket: global }
  const mod = await import('ws') as unknown as { default?: WebSocketClass }
  return { ws: true, WebSocket: mod.default ?? (mod as unknown as WebSocketClass) }
}

/**
 * The WebSocket transport for the broker's `GET /ws`: the same lines as TCP,
 * one or more command lines per frame sent (packed up to `maxFrameBytes`),
 * one reply or EVENT line per frame received.
 */
export function wsTransport (target: WsTarget): OpenTransport {
  return async (handlers) => {
    const { ws, WebSocket } = await webSocketClass(target.tls !== false)
    // The ws package takes limits and TLS options; the global WebSocket takes none.
    const socket = ws
      ? new WebSocket(target.url, { maxPayload: target.maxLineBytes, ...(target.tls === false ? {} : target.tls) })
      : new WebSocket(target.url)
    return new Promise<Transport>((resolve, reject) => {
      let open = false
      let failure: Error | null = null
      const timer = setTimeout(() => {
        failure = new Error(`no connection within ${target.connectTimeoutMs} ms (connectTimeoutMs)`)
        drop(socket)
      }, target.connectTimeoutMs)
      socket.onopen = () => {
        clearTimeout(timer)
        open = true
        resolve(new WsConnection(socket, target.maxFrameBytes))
      }
      socket.onmessage = (ev) => {
        handlers.line(typeof ev.data === 'string' ? ev.data : String(ev.data))
      }
      socket.onerror = (ev) => {
        failure ??= new Error(ev.message ?? (ev.error instanceof Error ? ev.error.message : 'WebSocket error'))
      }
      socket.onclose = (ev) => {
        clearTimeout(timer)
        const why = failure ?? (ev.code === 1000 ? null : new Error(`WebSocket closed with code ${ev.code}${ev.reason === '' ? '' : ` (${ev.reason})`}`))
        if (open) handlers.closed(why)
        else reject(why ?? new Error('WebSocket closed while opening'))
      }
    })
  }
}

function drop (socket: WebSocketLike): void {
  if (socket.terminate !== undefined) socket.terminate()
  else socket.close()
}

class WsConnection implements Transport {
  constructor (private readonly socket: WebSocketLike, private readonly maxFrameBytes: number) {}

  send (lines: readonly string[]): void {
    for (const frame of packFrames(lines, this.maxFrameBytes)) this.socket.send(frame)
  }

  /** After `quit`: a normal closure, sent after every frame already queued. */
  end (): void {
    this.socket.close(1000)
  }

  destroy (): void {
    drop(this.socket)
  }
}

/**
 * Joins lines with `\n` into as few frames as fit in `maxFrameBytes` (UTF-8),
 * in order. A line longer than that alone goes in a frame of its own.
 */
export function packFrames (lines: readonly string[], maxFrameBytes: number): string[] {
  const frames: string[] = []
  let current: string[] = []
  let bytes = 0
  for (const line of lines) {
    const size = utf8Length(line)
    const added = current.length === 0 ? size : bytes + 1 + size
    if (current.length > 0 && added > maxFrameBytes) {
      frames.push(current.join('\n'))
      current = [line]
      bytes = size
    } else {
      current.push(line)
      bytes = added
    }
  }
  if (current.length > 0) frames.push(current.join('\n'))
  return frames
}

/** Bytes of a string in UTF-8, without encoding it. */
export function utf8Length (s: string): number {
  let n = s.length
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0x80) {
      if (c < 0x800) n += 1
      else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        const d = s.charCodeAt(i + 1)
        if (d >= 0xdc00 && d <= 0xdfff) { n += 2; i++ } else n += 2
      } else n += 2
    }
  }
  return n
}
