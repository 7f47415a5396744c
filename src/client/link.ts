import { AcklineError, CONNECTION_CODES } from './errors'
import { parseLine } from './replies'
import { ReplyMatcher, type PendingReply } from './replyMatcher'
import type { OpenTransport, Transport } from './transport'

/** What a link reports to the client. */
export interface LinkHandlers {
  /** An `EVENT <topic> <json>` line. */
  event (link: Link, topic: string, json: string): void
  /** An `END <topic> <reason>` line: the broker ended that subscription (a range done, the topic deleted). */
  end (link: Link, topic: string, reason: string): void
  /** The link has ended; every command still waiting has already failed with `reason`. */
  closed (link: Link, reason: AcklineError): void
}

/**
 * One connection to the broker: its transport, the commands waiting for
 * replies, and the lines to send, written together once per microtask so
 * that commands issued in one turn (a burst of publishes) go out in one
 * write. A reconnect makes a new Link; `gen` tells them apart.
 */
export class Link {
  private transport: Transport | null = null
  private readonly matcher = new ReplyMatcher()
  private outbox: string[] = []
  private flushQueued = false
  private ended = false

  constructor (readonly gen: number, private readonly where: string, private readonly handlers: LinkHandlers) {}

  /** Opens the transport. Rejects with CONNECT_FAILED. */
  async open (openTransport: OpenTransport): Promise<void> {
    let transport: Transport
    try {
      transport = await openTransport({
        line: (text) => this.onLine(text),
        closed: (err) => this.onClosed(new AcklineError('DISCONNECTED', `connection to ${this.where} lost${err === null ? '' : `: ${err.message}`}`, { cause: err ?? undefined })),
      })
    } catch (err) {
      this.ended = true
      throw new AcklineError('CONNECT_FAILED', `cannot connect to ${this.where}: ${(err as Error).message}`, { cause: err })
    }
    if (this.ended) {
      // Destroyed (timed out) while the transport was opening.
      transport.destroy()
      throw new AcklineError('CONNECT_FAILED', `cannot connect to ${this.where}: no connection within the connect timeout`)
    }
    this.transport = transport
  }

  // Declared before `closed`, whose initializer sets it (fields are defined in order).
  private resolveClosed!: (reason: AcklineError) => void
  /** Resolves once the link has ended, with the reason. */
  readonly closed: Promise<AcklineError> = new Promise(resolve => { this.resolveClosed = resolve })

  /** True until the connection ends. */
  get isOpen (): boolean {
    return !this.ended
  }

  /** Commands sent and not yet answered. */
  get waiting (): number {
    return this.matcher.size
  }

  /** Sends a command; `pending` learns its reply, or that none will come. */
  request (line: string, pending: PendingReply): void {
    if (this.ended) {
      pending.failed(new AcklineError('DISCONNECTED', `connection to ${this.where} lost`, { command: redact(line) }))
      return
    }
    this.matcher.push(pending)
    this.outbox.push(line)
    if (!this.flushQueued) {
      this.flushQueued = true
      queueMicrotask(() => this.flush())
    }
  }

  /** Sends a command; resolves with the text after `OK `, rejects with an AcklineError carrying the `ERR` code. */
  call (line: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.request(line, {
        answered: (ok, err) => {
          if (err === null) resolve(ok!)
          else reject(new AcklineError(err.code, err.message, { command: redact(line) }))
        },
        failed: (err) => reject(new AcklineError(err.code, err.message, { command: redact(line), cause: err })),
      })
    })
  }

  /** Calls `fn` once no command is waiting for its reply. */
  whenIdle (fn: () => void): void {
    this.matcher.whenIdle(fn)
  }

  /** Closes the sending side after what was sent. */
  end (): void {
    this.flush()
    this.transport?.end()
  }

  /** Ends the link at once: waiting commands fail with `reason`. */
  destroy (reason: AcklineError): void {
    this.transport?.destroy()
    this.onClosed(reason)
  }

  private flush (): void {
    this.flushQueued = false
    if (this.outbox.length === 0 || this.ended) return
    const lines = this.outbox
    this.outbox = []
    this.transport!.send(lines)
  }

  private onLine (text: string): void {
    if (this.ended) return
    const line = parseLine(text)
    switch (line.kind) {
      case 'event':
        this.handlers.event(this, line.topic, line.json)
        return
      case 'end':
        this.handlers.end(this, line.topic, line.reason)
        return
      case 'ok':
        if (this.matcher.reply(line.text, null)) return
        break
      case 'err':
        if (CONNECTION_CODES.has(line.code)) {
          // Not an answer: the broker is ending this connection (limits, TLS, idle, storage).
          this.destroy(new AcklineError(line.code, line.message))
          return
        }
        if (this.matcher.reply(null, line)) return
        break
    }
    // A reply nobody asked for, or a line that is neither: replies no longer match commands.
    this.destroy(new AcklineError('PROTOCOL', `unexpected line from the broker: ${JSON.stringify(text.slice(0, 200))}`))
  }

  private onClosed (reason: AcklineError): void {
    if (this.ended) return
    this.ended = true
    this.outbox = []
    this.matcher.failAll(reason)
    this.resolveClosed(reason)
    this.handlers.closed(this, reason)
  }
}

/** A command as it may appear in an error: never with the password of `auth`. */
export function redact (line: string): string {
  return line.startsWith('auth ') ? line.replace(/^(auth \S+) .*$/, '$1 ***') : line
}
