import type { Timer } from '../clock'
import type { Socket } from 'node:net'
import type { BrokerConfig } from '../config/defaults'
import { errorLine } from '../errors'
import type { Manager } from '../manager/manager'
import type { Session } from '../manager/session'
import { LineFramer } from '../protocol/frameLines'
import { deliveryJson, type StoredEvent } from '../store/event'
import { flat } from '../store/flatString'
import { QUIET_ENDS, type Subscription } from '../store/subscription'

/** A command line received: text[start, end), and the characters of `text` it is the first to hold (see LineSink.line). */
class QueuedLine {
  constructor (readonly text: string, readonly start: number, readonly end: number, readonly holds: number) {}
}

/**
 * Queued input, answered in order: a command line, the byte count of an
 * over-long line (answered with ERR), or telnet negotiation bytes to send back.
 */
type InboxItem = QueuedLine | number | Buffer

/**
 * One client connection: frames input into lines for the manager, and
 * coalesces output (one socket write per tick, or sooner past flushBytes).
 * When the socket stops draining, reading and deliveries pause until
 * `drain`; a client that never drains is dropped after drainTimeoutMs.
 */
export class Connection implements Session {
  readonly id: number
  name: string | null = null
  readonly subscriptions = new Map<string, Subscription>()
  clusterSubscriptions = 0
  scheduled = false
  throttled = false
  readonly socket: Socket

  private readonly manager: Manager
  private readonly config: BrokerConfig
  private readonly framer: LineFramer
  /** Lines (and markers) received and not yet applied, from inboxHead; applied slots are emptied at once (see compactedQueue). */
  private inbox: Array<InboxItem | undefined> = []
  private inboxHead = 0
  private inboxChars = 0
  /** Where the line nextLine returned lies in its text. */
  lineStart = 0
  lineEnd = 0
  private out = ''
  /** The topic of the last `EVENT` line, and that line's `EVENT <topic> ` start (built once per topic in a row). */
  private eventTopic = ''
  private eventPrefix = ''
  /** An event was written while this client's own lines were being applied (see batchDone). */
  private deliveredInBatch = false
  /** Replies held for durability, as [ticket, line or telnet bytes] pairs in send order. */
  private held: Array<[number, string | Buffer] | undefined> = []
  private heldHead = 0
  private flushQueued = false
  /** write() returned false: waiting for `drain`. */
  private blocked = false
  private readingPaused = false
  private drainTimer: Timer | null = null
  /** The client half-closed: finish what it sent, then close. */
  private inputEnded = false
  private ending = false
  private closed = false
  private readonly onClosed: (c: Connection) => void

  constructor (id: number, socket: Socket, manager: Manager, config: BrokerConfig, onClosed: (c: Connection) => void) {
    this.id = id
    this.socket = socket
    this.manager = manager
    this.config = config
    this.onClosed = onClosed
    this.framer = new LineFramer(config.maxLineBytes, {
      line: (text, start, end, holds) => {
        this.inbox.push(new QueuedLine(text, start, end, holds))
        // What the queue keeps alive: a read's whole text (one short line and a long unfinished one cost the read).
        this.inboxChars += holds
      },
      tooLong: (bytes) => { this.inbox.push(bytes) },
      telnetReply: (bytes) => {
        this.inbox.push(bytes)
        this.inboxChars += bytes.length // a flood of option requests is bounded like a flood of lines
      },
    })
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('end', () => this.onEnd())
    socket.on('drain', () => this.onDrain())
    socket.on('error', () => { /* 'close' follows; nothing to add */ })
    socket.on('close', () => this.onClose())
  }

  /** Bytes accepted for this client but not yet handed to the kernel (for limits and tests). */
  get outboundBytes (): number {
    return this.out.length + this.socket.writableLength
  }

  get queuedLines (): number {
    return this.inbox.length - this.inboxHead
  }

  get remoteAddress (): string | undefined {
    return this.socket.remoteAddress
  }

  // --- Session ---

  reply (line: string): void {
    if (this.heldHead < this.held.length) this.held.push([0, line])
    else this.write(line)
  }

  get holding (): boolean {
    return this.heldHead < this.held.length
  }

  hold (line: string, ticket: number): void {
    this.held.push([ticket, line])
  }

  releaseHeld (durableTicket: number): boolean {
    const held = this.held
    while (this.heldHead < held.length && held[this.heldHead]![0] <= durableTicket) {
      const item = held[this.heldHead]![1]
      held[this.heldHead++] = undefined
      if (typeof item === 'string') this.write(item)
      else this.writeBytes(item)
    }
    if (this.heldHead < held.length) {
      if (compactedQueue(held, this.heldHead)) this.heldHead = 0
      return false
    }
    this.held = []
    this.heldHead = 0
    if (this.ending) this.closeOutput()
    else if (!this.closed) this.manager.resumeDeliveries(this)
    return true
  }

  failHeld (cause: string): void {
    this.held = []
    this.heldHead = 0
    this.write(errorLine('STORAGE_FAILED', { cause }))
    if (this.ending) this.closeOutput()
    else this.end()
  }

  stalled (): boolean {
    return this.blocked || this.closed || this.ending
  }

  canDeliver (): boolean {
    // While a confirmation is held, deliveries wait in the queue rather than pile up behind it.
    return !this.blocked && !this.closed && !this.ending && this.heldHead === this.held.length
  }

  deliver (topic: string, ev: StoredEvent, deliveries: number): void {
    this.manager.ctx.stats.delivered++
    if (this.closed) return
    if (this.scheduled) this.deliveredInBatch = true
    if (topic !== this.eventTopic) {
      // Kept by reference: a topic's name is its own string (checkTopicName's copy, never a slice of a read), and
      // the next delivery of the same topic passes the same string, so `!==` above is a pointer comparison.
      this.eventTopic = topic
      this.eventPrefix = flat('EVENT ' + topic + ' ')
    }
    // Appended in pieces: the `EVENT <topic> ` prefix is the same string for every event of the topic.
    this.out += this.eventPrefix
    this.out += deliveryJson(ev, deliveries)
    this.queued()
  }

  /**
   * A subscription ended: forgotten here. One the client did not end itself (range acked, topic deleted)
   * gets `END <topic> <reason>`, in order with the replies, once the records that end it (U, or the
   * topic's X, appended in this same turn) are stored.
   */
  ended (sub: Subscription, reason: string): void {
    const name = sub.topic.name
    if (this.subscriptions.get(name) === sub) this.subscriptions.delete(name)
    if (QUIET_ENDS.has(reason)) return
    const durability = this.manager.ctx.durability
    durability.reply(this, 'END ' + name + ' ' + reason, durability.pendingTicket())
  }

  nextLine (): string | undefined {
    if (this.ending) return undefined // after quit, nothing more is read or run
    while (this.inboxHead < this.inbox.length) {
      const item = this.inbox[this.inboxHead]!
      this.inbox[this.inboxHead++] = undefined
      if (item instanceof QueuedLine) {
        this.inboxChars -= item.holds
        this.lineStart = item.start
        this.lineEnd = item.end
        return item.text
      }
      if (typeof item === 'number') {
        this.reply(errorLine('LINE_TOO_LONG', { max: this.config.maxLineBytes }))
      } else {
        this.inboxChars -= item.length
        this.replyBytes(item)
      }
    }
    return undefined
  }

  hasLines (): boolean {
    return this.inboxHead < this.inbox.length
  }

  batchDone (): void {
    if (this.inboxHead === this.inbox.length) {
      this.inbox = []
      this.inboxHead = 0
      this.inboxChars = 0
      if (this.inputEnded) this.end()
    } else if (compactedQueue(this.inbox, this.inboxHead)) {
      this.inboxHead = 0
    }
    this.updateReading()
    // Events this client's own commands made room for (its acks freed in-flight slots) go out now, not at the
    // end of the turn: with a small in-flight cap the next acks wait for them, and other clients' lines
    // applied in the same turn would otherwise delay them (a round trip per in-flight window).
    if (this.deliveredInBatch) this.flush()
  }

  end (): void {
    if (this.ending || this.closed) return
    this.ending = true
    this.inbox = []
    this.inboxHead = 0
    // The session is over now, not when the client closes its side: subscriptions end, the name is freed.
    this.manager.disconnect(this)
    // Replies still waiting for the journal (e.g. `pub` then `quit`) go out before the socket closes.
    if (!this.holding) this.closeOutput()
  }

  private closeOutput (): void {
    this.flush()
    this.socket.end()
  }

  // --- socket events ---

  private onData (chunk: Buffer): void {
    if (this.ending) return
    this.framer.push(chunk)
    if (this.hasLines()) {
      this.manager.schedule(this)
      this.updateReading()
    }
  }

  private onEnd (): void {
    this.inputEnded = true
    if (this.ending) return
    this.framer.end() // an unfinished last line is run like any other
    if (this.hasLines()) this.manager.schedule(this)
    else if (!this.scheduled) this.end()
  }

  private onDrain (): void {
    if (!this.blocked) return
    this.blocked = false
    if (this.drainTimer !== null) {
      this.drainTimer.cancel()
      this.drainTimer = null
    }
    this.manager.resumeDeliveries(this)
    this.updateReading()
  }

  private onClose (): void {
    if (this.closed) return
    this.closed = true
    this.drainTimer?.cancel()
    this.inbox = []
    this.inboxHead = 0
    this.out = ''
    this.manager.disconnect(this)
    this.onClosed(this)
  }

  // --- flow control ---

  /** Reads pause while too much input is queued or the client is not draining output. */
  private updateReading (): void {
    const shouldPause = this.blocked ||
      this.queuedLines >= this.config.maxQueuedLines ||
      this.inboxChars >= this.config.maxLineBytes + this.config.flushBytes
    if (shouldPause && !this.readingPaused) {
      this.readingPaused = true
      this.socket.pause()
    } else if (!shouldPause && this.readingPaused && !this.closed) {
      this.readingPaused = false
      this.socket.resume()
    }
  }

  private write (line: string): void {
    if (this.closed) return
    this.out += line
    this.queued()
  }

  /** Ends the line just appended to `out`, and flushes now past flushBytes, else at the end of this turn. */
  private queued (): void {
    this.out += '\n'
    if (this.out.length >= this.config.flushBytes) {
      this.flush()
    } else if (!this.flushQueued) {
      this.flushQueued = true
      setImmediate(flushSoon, this)
    }
  }

  /** Telnet negotiation bytes, in their place among the replies (behind a held reply, like a line). */
  private replyBytes (bytes: Buffer): void {
    if (this.heldHead < this.held.length) this.held.push([0, bytes])
    else this.writeBytes(bytes)
  }

  /** Writes raw bytes after what is buffered (the buffer is text, encoded as UTF-8, so they cannot join it). */
  private writeBytes (bytes: Buffer): void {
    if (this.closed) return
    this.flush()
    this.wrote(this.socket.write(bytes))
  }

  flush (): void {
    this.flushQueued = false
    this.deliveredInBatch = false
    if (this.out.length === 0 || this.closed) return
    const ok = this.socket.write(this.out)
    this.out = ''
    this.wrote(ok)
  }

  /** After a socket write: a full buffer blocks deliveries and reading until `drain`. */
  private wrote (ok: boolean): void {
    if (!ok && !this.blocked) {
      this.blocked = true
      this.updateReading()
      this.drainTimer = this.manager.ctx.clock.after(this.config.drainTimeoutMs, () => this.socket.destroy())
    }
  }
}

function flushSoon (c: Connection): void {
  c.flush()
}

/**
 * A queue array read from a head index that a busy client may never let run
 * empty (a pipelining publisher keeps lines coming in and confirmations
 * held): once the head is past half of it (and past 1024 slots), the emptied
 * front is cut off in place, so the array stays in proportion to what is
 * queued. Returns true when it did (the head is 0 again). Applied slots are
 * emptied by the reader as it goes, so nothing it has done with outlives
 * the turn: a line kept until the queue ran empty used to live long enough
 * to be copied to the old generation (docs/benchmarks.md, issue 10).
 */
export function compactedQueue (queue: unknown[], head: number): boolean {
  if (head < 1024 || head * 2 < queue.length) return false
  queue.copyWithin(0, head)
  queue.length -= head
  return true
}
