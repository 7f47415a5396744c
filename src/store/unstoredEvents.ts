import type { LineBatch } from '../persistence/lineBatch'
import { decodeLine } from '../persistence/segmentCodec'
import type { StoredEvent } from './event'

/** Room for this many events (and 64 bytes each) at the first event after being empty. */
const FIRST_EVENTS = 16

/**
 * Buffer's own UTF-8 methods, under `write` and `toString` (which only check
 * their arguments and pick the encoding first): the publish path calls them
 * once per event, with arguments known to be in range.
 */
interface Utf8Buffer extends Buffer {
  utf8Write: (s: string, offset: number) => number
  utf8Slice: (start: number, end: number) => string
}

const NONE_F64 = new Float64Array(0)
const NONE_U32 = new Uint32Array(0)
const NONE_U16 = new Uint16Array(0)
const NONE_BYTES = Buffer.alloc(0)

/**
 * A topic's events not yet stored in its segments (published since the last
 * batch, or being appended), in offset order, kept as their segment lines:
 * UTF-8 bytes in one Buffer and per-event numbers in typed arrays, all off
 * the JavaScript heap, ready for the append (takeForAppend: views, no copy).
 *
 * Why: an event waits here up to a batch interval (a second). Held as a
 * JavaScript object and string that long, it survived the young
 * generation's scavenges and was copied to the old generation, where most
 * events of an acked workload would otherwise have died young (measured in
 * docs/benchmarks.md, issue 10). So the object itself is kept only while
 * some subscription may still want it (`wanted`: the subscriptions there
 * were when it was published, each letting go when it first hands the event
 * over or does not want it; see `release`); after that an event in memory is
 * decoded again from its bytes, the rare case (a late replay, `events`,
 * requeue). The bytes are exactly what the segment gets, so what comes out
 * of memory, of the segments, or after a restart is the same text.
 *
 * Memory grows in doubling steps and is reused while events keep coming,
 * also after a batch that stored every held event (a busy topic gets there
 * at most batches: allocating it again each time was megabytes of new
 * memory per batch); `trim` gives it back once the topic has stayed quiet.
 */
export class UnstoredEvents {
  private bytes: Buffer = NONE_BYTES
  private starts: Float64Array = NONE_F64
  private lengths: Uint32Array = NONE_U32
  private offsets: Float64Array = NONE_F64
  private timestamps: Float64Array = NONE_F64
  private priorities: Float64Array = NONE_F64
  /** Subscriptions that may still want the event's object (at most 65535; see release). */
  private wanted: Uint16Array = NONE_U16
  /** The events' objects while wanted, else undefined. Indexed like the arrays. */
  private objects: Array<StoredEvent | undefined> = []
  /** Events [head, end) are held; [head, appendAt) have been handed to an append still running. */
  private head = 0
  private end = 0
  private appendAt = 0
  /** Bytes used in `bytes` (the end of the last line). */
  private used = 0
  /** Bytes of the held lines, newlines included. */
  private held = 0

  /** Events held. */
  get size (): number {
    return this.end - this.head
  }

  /** Bytes of the held events' lines (newlines included): what they will take in the segments. */
  get bytesHeld (): number {
    return this.held
  }

  /** Offset of the first event held; -1 when none. */
  get firstOffset (): number {
    return this.head < this.end ? this.offsets[this.head] : -1
  }

  /**
   * Adds an event (its offset above every held one). `wanted`: how many
   * subscriptions may still deliver it; with 0 its object is not kept.
   */
  push (ev: StoredEvent, wanted: number): void {
    const json = ev.json
    // A UTF-16 unit takes at most 3 bytes of UTF-8, and the newline 1.
    const most = json.length * 3 + 1
    if (this.end === this.offsets.length || this.used + most > this.bytes.length) this.reshape(1, most)
    const i = this.end++
    const start = this.used
    const n = (this.bytes as Utf8Buffer).utf8Write(json, start) + 1
    this.bytes[start + n - 1] = 0x0a
    this.used = start + n
    this.held += n
    this.starts[i] = start
    this.lengths[i] = n
    this.offsets[i] = ev.offset
    this.timestamps[i] = ev.timestamp
    this.priorities[i] = ev.priority
    const w = wanted > 0xffff ? 0xffff : wanted
    this.wanted[i] = w
    this.objects[i] = w > 0 ? ev : undefined
  }

  /** Index of the held event at `offset`, or -1. */
  private indexOf (offset: number): number {
    const h = this.head
    if (h >= this.end || offset < this.offsets[h]) return -1
    let i = h + offset - this.offsets[h]
    if (i < this.end && this.offsets[i] === offset) return i
    // Gaps (a journal record lost in a crash) make offsets sparse: search.
    let lo = h
    let hi = Math.min(i, this.end - 1)
    while (lo <= hi) {
      i = (lo + hi) >>> 1
      const o = this.offsets[i]
      if (o === offset) return i
      if (o < offset) lo = i + 1
      else hi = i - 1
    }
    return -1
  }

  /** Whether the event at `offset` is held. */
  has (offset: number): boolean {
    return this.indexOf(offset) >= 0
  }

  /** The held event at `offset` (its object, or decoded from its bytes); undefined when not held. */
  get (offset: number): StoredEvent | undefined {
    const i = this.indexOf(offset)
    return i < 0 ? undefined : this.objects[i] ?? this.decode(i)
  }

  /**
   * A subscription no longer needs the object of the event at `offset` from
   * here (it handed the event over: its delivery holds it; or it does not
   * want it). Once none may, the object goes; the bytes stay until stored.
   * A miscount (a subscription that came later) only costs a decode.
   */
  release (offset: number): void {
    const i = this.indexOf(offset)
    if (i < 0 || this.wanted[i] === 0) return
    if (--this.wanted[i] === 0) this.objects[i] = undefined
  }

  /** Whether the event's object is still held (tests). */
  holdsObject (offset: number): boolean {
    const i = this.indexOf(offset)
    return i >= 0 && this.objects[i] !== undefined
  }

  private decode (i: number): StoredEvent {
    const start = this.starts[i]
    const json = (this.bytes as Utf8Buffer).utf8Slice(start, start + this.lengths[i] - 1)
    const line = decodeLine(json)
    // The bytes are a sealed event the broker wrote itself: a failure here is a bug, not damage.
    if (line === null) throw new Error(`unstored event ${this.offsets[i]} does not decode`)
    return { id: line.id, key: line.key, priority: this.priorities[i], offset: this.offsets[i], timestamp: this.timestamps[i], json }
  }

  /** The held events with offsets in [from, to] that `want` accepts (all when undefined), in order. */
  eventsIn (from: number, to: number, want?: (offset: number) => boolean): StoredEvent[] {
    const out: StoredEvent[] = []
    for (let i = this.head; i < this.end; i++) {
      const o = this.offsets[i]
      if (o > to) break
      if (o >= from && (want === undefined || want(o))) out.push(this.objects[i] ?? this.decode(i))
    }
    return out
  }

  /** Calls `fn(offset, priority)` for each held event from `from` on, in order (a replay's listing: nothing decoded). */
  forEachFrom (from: number, fn: (offset: number, priority: number) => void): void {
    for (let i = this.head; i < this.end; i++) {
      const o = this.offsets[i]
      if (o >= from) fn(o, this.priorities[i])
    }
  }

  /** Bytes of the held events' texts from `from` on (no newlines), what owedBytes counts. */
  textBytesFrom (from: number): number {
    let n = 0
    for (let i = this.head; i < this.end; i++) if (this.offsets[i] >= from) n += this.lengths[i] - 1
    return n
  }

  /** The first held offset stamped at or after `ms`; -1 when none. */
  offsetAtTime (ms: number): number {
    for (let i = this.head; i < this.end; i++) if (this.timestamps[i] >= ms) return this.offsets[i]
    return -1
  }

  // --- the batcher's side ---

  /**
   * The held events not yet handed to an append, as segment lines: views of
   * this store's memory, which is never written again while they are held
   * (new events go after them; growing copies to new memory).
   */
  takeForAppend (): LineBatch {
    const from = this.appendAt < this.head ? this.head : this.appendAt
    const to = this.end
    this.appendAt = to
    const b0 = from < to ? this.starts[from] : 0
    const b1 = from < to ? this.starts[to - 1] + this.lengths[to - 1] : 0
    return {
      count: to - from,
      bytes: this.bytes.subarray(b0, b1),
      offsets: this.offsets.subarray(from, to),
      timestamps: this.timestamps.subarray(from, to),
      priorities: this.priorities.subarray(from, to),
      lengths: this.lengths.subarray(from, to),
    }
  }

  /** Events up to `lastOffset` are stored: they are no longer held (the memory is kept for the next ones; see trim). */
  stored (lastOffset: number): void {
    const h = this.storedUpTo(lastOffset)
    this.head = h
    if (h === this.end) {
      // Empty: start again at the front of the same memory (nothing refers to it: no append is under way).
      this.objects.length = 0
      this.head = this.end = this.appendAt = this.used = 0
    }
  }

  /** Memory held (bytes of the buffers), for tests and trim. */
  get capacityBytes (): number {
    return this.bytes.length + this.offsets.length * (8 * 4 + 4 + 2)
  }

  /** Gives the memory back if nothing is held (the topic had nothing new for a batch interval: a broker may have many quiet topics). */
  trim (): void {
    if (this.end === 0 && this.bytes !== NONE_BYTES) this.clear()
  }

  /**
   * Lets the held events up to `lastOffset` go (their objects, their bytes'
   * count); returns the index of the first one kept. The loop is alone in its
   * function: V8 compiles it while it runs, and code after it that had not run
   * yet made that code bail out at every batch.
   */
  private storedUpTo (lastOffset: number): number {
    let h = this.head
    while (h < this.end && this.offsets[h] <= lastOffset) {
      this.held -= this.lengths[h]
      this.objects[h] = undefined
      h++
    }
    return h
  }

  /** The append failed: its events go again with the next batch. */
  appendFailed (): void {
    this.appendAt = this.head
  }

  /** Forgets every held event and gives the memory back. */
  clear (): void {
    this.bytes = NONE_BYTES
    this.starts = NONE_F64
    this.lengths = NONE_U32
    this.offsets = NONE_F64
    this.timestamps = NONE_F64
    this.priorities = NONE_F64
    this.wanted = NONE_U16
    this.objects = []
    this.head = this.end = this.appendAt = this.used = this.held = 0
  }

  /**
   * Room for `events` more events and `bytes` more bytes. The held events
   * move to the front: in place when no append is under way (it could be
   * reading them) and they take at most half the room; else into new memory
   * (twice what is held plus the need, never less than now: a busy topic
   * does not grow again every batch), the old left as it is for the append.
   * Fewer allocations also mean less external memory for V8 to count
   * (which starts full collections).
   */
  private reshape (events: number, bytes: number): void {
    const h = this.head
    const n = this.end - h
    const b0 = n > 0 ? this.starts[h] : 0
    const liveBytes = this.used - b0
    const cap = this.offsets.length
    if (this.appendAt <= h && 2 * (n + events) <= cap && 2 * (liveBytes + bytes) <= this.bytes.length) {
      if (h > 0) {
        this.bytes.copyWithin(0, b0, this.used)
        rebased(this.starts, this.starts, h, n, b0)
        this.lengths.copyWithin(0, h, h + n)
        this.offsets.copyWithin(0, h, h + n)
        this.timestamps.copyWithin(0, h, h + n)
        this.priorities.copyWithin(0, h, h + n)
        this.wanted.copyWithin(0, h, h + n)
        this.objects.copyWithin(0, h, h + n)
        this.objects.length = n
      }
    } else {
      const newCap = Math.max(FIRST_EVENTS, cap, 2 * (n + events))
      const buf = Buffer.allocUnsafeSlow(Math.max(FIRST_EVENTS * 64, this.bytes.length, 2 * (liveBytes + bytes)))
      this.bytes.copy(buf, 0, b0, this.used)
      this.bytes = buf
      this.starts = rebased(new Float64Array(newCap), this.starts, h, n, b0)
      this.lengths = moved(new Uint32Array(newCap), this.lengths, h, n)
      this.offsets = moved(new Float64Array(newCap), this.offsets, h, n)
      this.timestamps = moved(new Float64Array(newCap), this.timestamps, h, n)
      this.priorities = moved(new Float64Array(newCap), this.priorities, h, n)
      this.wanted = moved(new Uint16Array(newCap), this.wanted, h, n)
      this.objects = this.objects.slice(h, h + n)
    }
    this.appendAt = Math.max(0, this.appendAt - h)
    this.head = 0
    this.end = n
    this.used = liveBytes
  }
}

/** `to` with `from[h, h + n) - b0` at its start (byte positions after the bytes moved; a loop alone in its function, see storedUpTo). */
function rebased (to: Float64Array, from: Float64Array, h: number, n: number, b0: number): Float64Array {
  for (let i = 0; i < n; i++) to[i] = from[h + i] - b0
  return to
}

/** `to` with `from[h, h + n)` copied to its start. */
function moved<T extends Float64Array | Uint32Array | Uint16Array> (to: T, from: T, h: number, n: number): T {
  to.set(from.subarray(h, h + n) as never)
  return to
}
