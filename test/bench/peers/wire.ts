/**
 * The one framing and counting module every peer driver (Ackline's, the
 * forwarder's and each peer broker's) uses, so that what differs between two
 * rows of a table is the broker, not the client code:
 *
 * - `Wire`: a raw loopback socket with coalesced writes (at most one
 *   `socket.write` per event-loop turn) and a small reader for the handshake.
 * - `Scanner`: counts protocol markers in the byte stream (a delivery, a
 *   publish confirmation, an ack reply) without building an object per message.
 * - `Publisher`: pipelines publishes with at most `window` unconfirmed.
 * - `Meter`: delivery/confirm counts, and latency from the send timestamp
 *   embedded in the body, read from one message in `SAMPLE_EVERY` only (the
 *   same cost for every broker).
 * - `Payload`: the same ~100-byte JSON event body for every broker.
 */
import * as net from 'node:net'
import { paddingFor, pickPriority, PriorityRange } from '../../../src/bench/args'
import { LatencyRecorder, nowMs, paceAllowance } from '../../../src/bench/stats'

/** Bytes to send: strings are written as latin1 (bodies are ASCII; binary framing uses chars < 256). */
export type Bytes = string | Buffer

/** Latency is read from one delivered (and one confirmed) message in this many. A power of two. */
export const SAMPLE_EVERY = 16
const SAMPLE_MASK = SAMPLE_EVERY - 1

const EMPTY = Buffer.alloc(0)
const T_KEY = Buffer.from('"t":')

/** The event body every broker gets: `{"priority":p,"msg":{"t":<send ms>,"p":"xx…"}}` (no `priority` without a range). */
export class Payload {
  private readonly pad: string
  constructor(size: number, private readonly prio: PriorityRange | null) {
    this.pad = paddingFor(size)
  }
  /** A priority from the range, or -1 without one. */
  priority(): number {
    return this.prio === null ? -1 : pickPriority(this.prio)
  }
  /** The body for priority `p` (-1: none) and send time `t` (see `stamp`). */
  body(p: number, t: string): string {
    return p < 0 ? `{"msg":{"t":${t},"p":"${this.pad}"}}` : `{"priority":${p},"msg":{"t":${t},"p":"${this.pad}"}}`
  }
}

/** Send time as fixed-width text (ms with 3 decimals), so every body of a run has the same length. */
export function stamp(): string {
  return nowMs().toFixed(3)
}

/** Parse an unsigned decimal number (digits, optional fraction) at `i`; NaN if there is none or it may be cut off. */
export function readNumber(buf: Buffer, i: number): number {
  let v = 0
  let digits = 0
  let scale = 0
  for (; i < buf.length; i++) {
    const c = buf[i]!
    if (c >= 48 && c <= 57) {
      v = v * 10 + (c - 48)
      digits++
      if (scale > 0) scale *= 10
    } else if (c === 46 && scale === 0) scale = 1
    else return digits === 0 ? NaN : scale > 1 ? v / scale : v
  }
  return NaN
}

/**
 * Called at each marker: `at` is where the marker starts, `end` where it ends.
 * Returns where scanning goes on (>= end), or -1 when the frame after the
 * marker is not complete yet (the bytes from `at` are kept for the next chunk).
 */
export type Hook = (buf: Buffer, at: number, end: number) => number

/** Finds markers in a byte stream that arrives in chunks, in stream order, across chunk boundaries. */
export class Scanner {
  private readonly marks: Buffer[]
  private readonly hooks: Hook[]
  private readonly next: Int32Array
  private readonly keepTail: number
  private carry: Buffer | null = null

  constructor(rules: Array<[marker: Bytes, hook: Hook]>) {
    this.marks = rules.map(([m]) => (typeof m === 'string' ? Buffer.from(m, 'latin1') : m))
    this.hooks = rules.map(([, h]) => h)
    this.next = new Int32Array(rules.length)
    this.keepTail = Math.max(...this.marks.map((m) => m.length)) - 1
  }

  push(chunk: Buffer): void {
    const buf = this.carry === null ? chunk : Buffer.concat([this.carry, chunk])
    this.carry = null
    const marks = this.marks
    const next = this.next
    const n = marks.length
    for (let i = 0; i < n; i++) next[i] = buf.indexOf(marks[i]!, 0)
    let pos = 0
    for (;;) {
      let k = -1
      let at = buf.length
      for (let i = 0; i < n; i++) {
        const p = next[i]!
        if (p !== -1 && p < at) {
          at = p
          k = i
        }
      }
      if (k === -1) break
      const r = this.hooks[k]!(buf, at, at + marks[k]!.length)
      if (r < 0) {
        this.carry = buf.subarray(at)
        return
      }
      pos = r
      for (let i = 0; i < n; i++) if (next[i] !== -1 && next[i]! < pos) next[i] = buf.indexOf(marks[i]!, pos)
    }
    // A marker may be cut by the chunk boundary: keep the tail that could be its start.
    const keep = Math.max(pos, buf.length - this.keepTail)
    if (keep < buf.length) this.carry = buf.subarray(keep)
  }
}

/** A raw loopback TCP connection: coalesced writes; a setup reader, then a Scanner on the hot path. */
export class Wire {
  private parts: Bytes[] = []
  private binary = false
  private scheduled = false
  private pending: Buffer = EMPTY
  private wake: (() => void) | null = null
  private scanner: Scanner | null = null
  private after: (() => void) | null = null
  private closing = false
  /** Why the connection ended unexpectedly, if it did. */
  failure: string | null = null
  onFail: ((why: string) => void) | null = null

  private constructor(readonly sock: net.Socket, readonly name: string) {
    sock.setNoDelay(true)
    sock.on('data', (chunk: Buffer) => this.onData(chunk))
    sock.on('error', (e) => this.fail(`${name}: ${e.message}`))
    sock.on('close', () => this.fail(`${name}: connection closed by the broker`))
  }

  static connect(port: number, name: string): Promise<Wire> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port })
      s.once('connect', () => {
        s.off('error', reject)
        resolve(new Wire(s, name))
      })
      s.once('error', reject)
    })
  }

  private fail(why: string): void {
    if (this.closing || this.failure !== null) return
    this.failure = why
    this.wake?.()
    this.onFail?.(why)
  }

  /** Queue bytes; written with everything else queued in this event-loop turn. */
  send(b: Bytes): void {
    this.parts.push(b)
    if (typeof b !== 'string') this.binary = true
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => this.flush())
    }
  }

  flush(): void {
    this.scheduled = false
    if (this.parts.length === 0 || this.sock.destroyed) return
    const parts = this.parts
    this.parts = []
    if (this.binary) {
      this.binary = false
      this.sock.write(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p))))
    } else this.sock.write(parts.length === 1 ? parts[0]! : parts.join(''), 'latin1')
  }

  private onData(chunk: Buffer): void {
    if (this.scanner !== null) {
      this.scanner.push(chunk)
      this.after?.()
      this.flush()
      return
    }
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    this.wake?.()
  }

  /**
   * Setup phase: wait until `frame(buffered)` returns the length of a complete
   * first frame, then return that frame and keep the rest.
   */
  async read(frame: (buf: Buffer) => number, what: string, timeoutMs = 15_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const n = frame(this.pending)
      if (n >= 0) {
        const out = this.pending.subarray(0, n)
        this.pending = this.pending.subarray(n)
        return out
      }
      if (this.failure !== null) throw new Error(`${this.failure} (waiting for ${what})`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`${this.name}: no ${what} within ${timeoutMs} ms; got ${JSON.stringify(this.pending.toString('latin1').slice(0, 200))}`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.wake = () => {
          clearTimeout(t)
          this.wake = null
          resolve()
        }
      })
    }
  }

  /** Setup phase: everything up to and including the first `marker`. */
  until(marker: Bytes, timeoutMs?: number): Promise<Buffer> {
    const m = typeof marker === 'string' ? Buffer.from(marker, 'latin1') : marker
    return this.read((b) => {
      const i = b.indexOf(m)
      return i < 0 ? -1 : i + m.length
    }, JSON.stringify(m.toString('latin1')), timeoutMs)
  }

  /** Send `request` and wait for `reply` (setup phase). Throws on anything that does not contain it in time. */
  async call(request: Bytes, reply: Bytes, timeoutMs?: number): Promise<string> {
    this.send(request)
    return (await this.until(reply, timeoutMs)).toString('latin1')
  }

  /** Hot path from now on: every chunk (and what is buffered) goes to `scanner`, then `after` runs, then queued bytes are written. */
  attach(scanner: Scanner, after?: () => void): void {
    this.scanner = scanner
    this.after = after ?? null
    const rest = this.pending
    this.pending = EMPTY
    if (rest.length) {
      scanner.push(rest)
      this.after?.()
      this.flush()
    }
  }

  close(): void {
    this.closing = true
    this.flush()
    this.sock.destroy()
  }
}

/** What a run counted; shared by all connections of the run. */
export class Meter {
  readonly lat = new LatencyRecorder()
  readonly confirmLat = new LatencyRecorder()
  published = 0
  /** Publishes the broker refused (an error reply instead of a confirmation). */
  refused = 0
  delivered = 0
  acked = 0
  expected = 0
  startAt = 0
  lastPub = 0
  lastDel = 0
  private lastProgress = 0
  private seenDelivered = 0
  private seenPublished = 0
  private sampleDue = false
  private wires: Wire[] = []
  private waiter: (() => void) | null = null
  failure: string | null = null
  /** Unexpected replies, by kind (e.g. an `ERR` to an ack). */
  readonly errors: Record<string, number> = {}

  error(kind: string): void {
    this.errors[kind] = (this.errors[kind] ?? 0) + 1
  }

  /** Open a connection that belongs to this run: an unexpected close ends the run. */
  async connect(port: number, name: string): Promise<Wire> {
    const w = await Wire.connect(port, name)
    this.wires.push(w)
    w.onFail = (why) => this.fail(why)
    return w
  }

  fail(why: string): void {
    this.failure ??= why
    this.waiter?.()
  }

  start(expected: number): void {
    this.expected = expected
    this.startAt = nowMs()
    this.lastProgress = this.startAt
  }

  /** One delivery; `from` is a position in `buf` before the body (where its send time is looked up, for a sample). */
  deliver(buf: Buffer, from: number): void {
    if ((++this.delivered & SAMPLE_MASK) === 0 || this.sampleDue) this.sample(buf, from)
  }

  private sample(buf: Buffer, from: number): void {
    const i = buf.indexOf(T_KEY, from)
    const t = i < 0 || i - from > 512 ? NaN : readNumber(buf, i + T_KEY.length)
    if (Number.isNaN(t)) {
      this.sampleDue = true // body cut by the chunk boundary: take the next one
      return
    }
    this.sampleDue = false
    this.lat.record(nowMs() - t)
  }

  /** Called after each chunk of any connection: one clock read per chunk, not per message. */
  tick(): void {
    if (this.delivered === this.seenDelivered && this.published + this.refused === this.seenPublished) return
    const now = nowMs()
    if (this.delivered !== this.seenDelivered) {
      this.seenDelivered = this.delivered
      this.lastDel = this.lastProgress = now
    }
    if (this.published + this.refused !== this.seenPublished) {
      this.seenPublished = this.published + this.refused
      this.lastPub = now
    }
    this.waiter?.()
  }

  /** Resolves true when everything expected was delivered; false on failure, timeout, or `stallMs` without progress. */
  wait(runTimeoutMs: number, stallMs: number, done: () => boolean = () => true): Promise<boolean> {
    const finished = (): boolean => this.delivered >= this.expected && done()
    if (this.failure !== null) return Promise.resolve(false)
    if (finished()) return Promise.resolve(true)
    return new Promise((resolve) => {
      const deadline = this.startAt + runTimeoutMs
      const iv = setInterval(() => {
        const now = nowMs()
        if (finished()) end(true)
        else if (now > deadline || now - Math.max(this.lastProgress, this.lastPub) > stallMs) end(false)
      }, 50)
      const end = (ok: boolean): void => {
        clearInterval(iv)
        this.waiter = null
        resolve(ok)
      }
      this.waiter = () => {
        if (this.failure !== null) end(false)
        else if (finished()) end(true)
      }
    })
  }

  /** Give outstanding ack replies a moment (acks are counted on the broker's reply where it sends one). */
  async waitAcks(ms: number): Promise<void> {
    const end = Date.now() + ms
    while (this.acked < this.delivered && Date.now() < end && this.failure === null) await new Promise((r) => setTimeout(r, 10))
  }

  closeAll(): void {
    for (const w of this.wires) w.close()
    this.wires = []
  }
}

/** How a publisher is confirmed. */
export interface PublishPlan {
  total: number
  /** At most this many publishes sent and not yet confirmed. */
  window: number
  /** Open-loop events/s (0 = as fast as the window allows). */
  rate: number
  /** The i-th publish (0-based) with send time `t` (from `stamp()`). */
  frame(i: number, t: string): Bytes
  /**
   * For protocols with no reply per publish (NATS core, MQTT QoS 0): send
   * `sync` after every `syncEvery` publishes (and after the last); each reply
   * to it confirms those publishes. Omitted: the broker replies to each publish.
   */
  sync?: { every: number; bytes: Bytes }
}

/** Pipelines `total` publishes on one Wire; the driver's Scanner calls `confirm`/`refuse`/`synced`. */
export class Publisher {
  sent = 0
  confirmed = 0
  private syncs = 0
  private timer: NodeJS.Timeout | null = null
  /** Send time of every SAMPLE_EVERY-th publish, by index / SAMPLE_EVERY. */
  private readonly sentAt: Float64Array
  private readonly ring: number

  constructor(private readonly wire: Wire, private readonly m: Meter, private readonly p: PublishPlan) {
    this.ring = Math.ceil(p.window / SAMPLE_EVERY) + 2
    this.sentAt = new Float64Array(this.ring)
  }

  get done(): boolean {
    return this.confirmed >= this.p.total
  }

  /** Start publishing (call after `m.start`); `afterChunk` of the publisher's Wire must call `pump`. */
  start(): void {
    this.pump()
    this.wire.flush()
    if (this.p.rate > 0) {
      this.timer = setInterval(() => {
        this.pump()
        this.wire.flush()
        if (this.sent >= this.p.total && this.timer) clearInterval(this.timer)
      }, 1)
    }
  }

  pump(): void {
    const p = this.p
    const allowed = Math.min(p.total, this.confirmed + p.window, paceAllowance(nowMs() - this.m.startAt, p.rate))
    if (this.sent >= allowed) return
    const t = stamp()
    const tNum = Number(t)
    const every = p.sync?.every ?? 0
    while (this.sent < allowed) {
      const i = this.sent++
      if ((i & SAMPLE_MASK) === 0) this.sentAt[(i / SAMPLE_EVERY) % this.ring] = tNum
      this.wire.send(p.frame(i, t))
      if (every > 0 && (this.sent % every === 0 || this.sent === p.total)) this.wire.send(p.sync!.bytes)
    }
  }

  /** `n` publishes confirmed by the broker, in order. */
  confirm(n = 1): void {
    const c0 = this.confirmed
    const c1 = Math.min(this.p.total, c0 + n)
    this.confirmed = c1
    this.m.published += c1 - c0
    if (this.p.sync === undefined) {
      const first = Math.ceil(c0 / SAMPLE_EVERY) * SAMPLE_EVERY
      if (first < c1) {
        const now = nowMs()
        for (let i = first; i < c1; i += SAMPLE_EVERY) this.m.confirmLat.record(now - this.sentAt[(i / SAMPLE_EVERY) % this.ring]!)
      }
    }
  }

  /** One publish refused: it frees its window slot but is not counted as published. */
  refuse(): void {
    this.confirmed++
    this.m.refused++
  }

  /** The reply to one `sync`: confirms the publishes sent before it. */
  synced(): void {
    this.syncs++
    this.confirm(Math.min(this.syncs * this.p.sync!.every, this.p.total) - this.confirmed)
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }
}
