import type { LineBatch } from '../persistence/lineBatch'
import { decodeLine } from '../persistence/segmentCodec'
import type { StoredEvent } from './event'

/** A topic's first page: room for this many events (and 64 bytes each); each next page doubles, up to a full page. */
const FIRST_EVENTS = 16
/** Bytes of a full page. Full pages are pooled, shared by every topic. */
export const PAGE_BYTES = 1024 * 1024
/** Events a full page holds at most (events of 128 bytes fill its bytes at about the same time). */
export const PAGE_EVENTS = 8192
/** Bytes of per-event numbers a page has for each event it can hold (starts, lengths, offsets, timestamps, priorities, wanted). */
const NUMBER_BYTES = 4 + 4 + 8 + 8 + 8 + 2

/**
 * Buffer's own UTF-8 methods, under `write` and `toString` (which only check
 * their arguments and pick the encoding first): the publish path calls them
 * once per event, with arguments known to be in range.
 */
interface Utf8Buffer extends Buffer {
  utf8Write: (s: string, offset: number) => number
  utf8Slice: (start: number, end: number) => string
}

/**
 * A run of consecutive held events of one topic, written in order: their
 * segment lines back to back in `bytes`, their numbers in typed arrays.
 * Events [0, head) are stored, [head, taken) handed to the append under way
 * (which reads views of them: they are never written again until it ends),
 * [taken, count) not yet handed out.
 */
class Page {
  readonly bytes: Buffer
  /** Where each event's line starts in `bytes`. */
  readonly starts: Uint32Array
  readonly lengths: Uint32Array
  readonly offsets: Float64Array
  readonly timestamps: Float64Array
  readonly priorities: Float64Array
  /** Subscriptions that may still want the event's object (at most 65535; see UnstoredEvents.release). */
  readonly wanted: Uint16Array
  /** The events' objects while wanted, else undefined. Filled from the start (no holes, no growth). */
  readonly objects: Array<StoredEvent | undefined>
  count = 0
  /** Bytes used in `bytes` (the end of the last line). */
  used = 0
  head = 0
  taken = 0

  constructor (events: number, bytes: number) {
    this.bytes = Buffer.allocUnsafeSlow(bytes)
    this.starts = new Uint32Array(events)
    this.lengths = new Uint32Array(events)
    this.offsets = new Float64Array(events)
    this.timestamps = new Float64Array(events)
    this.priorities = new Float64Array(events)
    this.wanted = new Uint16Array(events)
    this.objects = new Array<StoredEvent | undefined>(events).fill(undefined)
  }

  /** Events it can hold. */
  get capacity (): number {
    return this.offsets.length
  }

  /** A full page (pooled when let go). */
  get standard (): boolean {
    return this.offsets.length === PAGE_EVENTS && this.bytes.length === PAGE_BYTES
  }

  /** Some of its events are handed to the append under way (it reads views of them). */
  get inAppend (): boolean {
    return this.taken > this.head
  }

  /** Memory it takes (bytes and numbers). */
  get byteSize (): number {
    return this.bytes.length + this.offsets.length * NUMBER_BYTES
  }

  /** Index of the event at `offset` among [head, count), or -1. */
  indexOf (offset: number): number {
    const h = this.head
    if (h >= this.count || offset < this.offsets[h]) return -1
    let i = h + offset - this.offsets[h]
    if (i < this.count && this.offsets[i] === offset) return i
    // Gaps (a journal record lost in a crash) make offsets sparse: search.
    let lo = h
    let hi = Math.min(i, this.count - 1)
    while (lo <= hi) {
      i = (lo + hi) >>> 1
      const o = this.offsets[i]
      if (o === offset) return i
      if (o < offset) lo = i + 1
      else hi = i - 1
    }
    return -1
  }

  /** Events [from, to) as segment lines: views of this page, no copy. */
  lines (from: number, to: number): LineBatch {
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

  /** Empty again, to be filled from the front (its objects let go). */
  reset (): void {
    this.objects.fill(undefined, this.head, this.count)
    this.count = this.used = this.head = this.taken = 0
  }
}

/**
 * Full pages no topic holds, for the next topic that needs one: a busy
 * topic lets a batch's pages go as soon as they are stored and takes them
 * again for the next events, and the next busy topic (or the same one after
 * a quiet spell) does not touch fresh memory. Fresh memory costs a page
 * fault per 4 KiB at the first write (~1.7 µs each on the benchmark box,
 * about 0.1 µs per W1 event). trimPagePool() gives back what no one took
 * for a whole batch interval.
 */
const pool: Page[] = []
/** The fewest pages the pool held since the last trimPagePool(): that many sat unused all along. */
let poolLow = 0
/** Pages made so far (tests: a busy topic in its steady state makes none). */
let pagesMade = 0

function newPage (events: number, bytes: number): Page {
  if (events === PAGE_EVENTS && bytes === PAGE_BYTES) {
    const p = pool.pop()
    if (p !== undefined) {
      if (pool.length < poolLow) poolLow = pool.length
      return p
    }
  }
  pagesMade++
  return new Page(events, bytes)
}

/** A page no topic holds any more (none of it in an append under way): pooled if full-size, else left to the GC. */
function letGo (p: Page): void {
  if (!p.standard) return
  p.reset()
  pool.push(p)
}

/**
 * Called once per batch: frees the pooled pages that no topic took since the
 * last call (a whole batch interval), so memory a burst needed goes back.
 */
export function trimPagePool (): void {
  pool.splice(0, Math.min(poolLow, pool.length))
  poolLow = pool.length
}

/** The pool's state (tests, stats). */
export function pagePoolStats (): { pooled: number, made: number } {
  return { pooled: pool.length, made: pagesMade }
}

/**
 * A topic's events not yet stored in its segments (published since the last
 * batch, or being appended), in offset order, kept as their segment lines:
 * UTF-8 bytes and per-event numbers in typed arrays, all off the JavaScript
 * heap, ready for the append (takeForAppend: views, no copy), in pages
 * (Page): a quiet topic holds one small page, a busy one a run of full
 * pages, each let go (to the shared pool) once its events are stored.
 * Nothing is ever copied to grow, and a busy topic touches no fresh memory
 * once it runs steadily.
 *
 * Why off the heap: an event waits here up to a batch interval (a second).
 * Held as a JavaScript object and string that long, it survived the young
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
 * The last page is kept (emptied) when a batch stores every held event, and
 * reused by the next events; `trim` lets it go once the topic has stayed quiet.
 */
export class UnstoredEvents {
  /** In offset order; the last one takes new events. */
  private pages: Page[] = []
  /** Events held. */
  private n = 0
  /** Bytes of the held lines, newlines included. */
  private held = 0
  /** Set by find(): the index of the event found in its page. */
  private at = 0

  /** Events held. */
  get size (): number {
    return this.n
  }

  /** Bytes of the held events' lines (newlines included): what they will take in the segments. */
  get bytesHeld (): number {
    return this.held
  }

  /** Offset of the first event held; -1 when none. */
  get firstOffset (): number {
    if (this.n === 0) return -1
    const p = this.pages[0]
    return p.offsets[p.head]
  }

  /**
   * Adds an event (its offset above every held one). `wanted`: how many
   * subscriptions may still deliver it; with 0 its object is not kept.
   */
  push (ev: StoredEvent, wanted: number): void {
    const json = ev.json
    // A UTF-16 unit takes at most 3 bytes of UTF-8, and the newline 1.
    const most = json.length * 3 + 1
    const pages = this.pages
    let p = pages.length > 0 ? pages[pages.length - 1] : undefined
    if (p === undefined || p.count === p.offsets.length || p.used + most > p.bytes.length) p = this.addPage(p, most)
    const i = p.count++
    const start = p.used
    const n = (p.bytes as Utf8Buffer).utf8Write(json, start) + 1
    p.bytes[start + n - 1] = 0x0a
    p.used = start + n
    this.held += n
    this.n++
    p.starts[i] = start
    p.lengths[i] = n
    p.offsets[i] = ev.offset
    p.timestamps[i] = ev.timestamp
    p.priorities[i] = ev.priority
    const w = wanted > 0xffff ? 0xffff : wanted
    p.wanted[i] = w
    if (w > 0) p.objects[i] = ev
  }

  /**
   * A new last page with room for an event of at most `most` bytes: twice
   * the last one, up to a full page (pooled); bigger for an event that needs
   * it. An empty last page (nothing written since a batch stored it all) is
   * replaced.
   */
  private addPage (last: Page | undefined, most: number): Page {
    let events = FIRST_EVENTS
    let bytes = FIRST_EVENTS * 64
    if (last !== undefined) {
      events = Math.min(PAGE_EVENTS, last.capacity * 2)
      bytes = Math.min(PAGE_BYTES, Math.max(last.bytes.length, FIRST_EVENTS * 64) * 2)
      if (last.count === 0) {
        this.pages.pop()
        letGo(last)
      }
    }
    const p = newPage(events, Math.max(bytes, most))
    this.pages.push(p)
    return p
  }

  /** The page holding the event at `offset` (its index in `at`), or undefined. */
  private find (offset: number): Page | undefined {
    const pages = this.pages
    let k = pages.length - 1
    if (k < 0) return undefined
    // Mostly a recent event (a subscription handing over what was just published): the last page.
    let p = pages[k]
    if (p.count === p.head || offset < p.offsets[p.head]) {
      // Else the last page whose first held offset is at or below it.
      let lo = 0
      let hi = k - 1
      k = -1
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1
        const q = pages[mid]
        if (q.offsets[q.head] <= offset) { k = mid; lo = mid + 1 } else hi = mid - 1
      }
      if (k < 0) return undefined
      p = pages[k]
    }
    const i = p.indexOf(offset)
    if (i < 0) return undefined
    this.at = i
    return p
  }

  /** Whether the event at `offset` is held. */
  has (offset: number): boolean {
    return this.find(offset) !== undefined
  }

  /** The held event at `offset` (its object, or decoded from its bytes); undefined when not held. */
  get (offset: number): StoredEvent | undefined {
    const p = this.find(offset)
    if (p === undefined) return undefined
    return p.objects[this.at] ?? decode(p, this.at)
  }

  /**
   * A subscription no longer needs the object of the event at `offset` from
   * here (it handed the event over: its delivery holds it; or it does not
   * want it). Once none may, the object goes; the bytes stay until stored.
   * A miscount (a subscription that came later) only costs a decode.
   */
  release (offset: number): void {
    const p = this.find(offset)
    if (p === undefined) return
    const i = this.at
    if (p.wanted[i] === 0) return
    if (--p.wanted[i] === 0) p.objects[i] = undefined
  }

  /** Whether the event's object is still held (tests). */
  holdsObject (offset: number): boolean {
    const p = this.find(offset)
    return p !== undefined && p.objects[this.at] !== undefined
  }

  /** The held events with offsets in [from, to] that `want` accepts (all when undefined), in order. */
  eventsIn (from: number, to: number, want?: (offset: number) => boolean): StoredEvent[] {
    const out: StoredEvent[] = []
    for (const p of this.pages) {
      for (let i = p.head; i < p.count; i++) {
        const o = p.offsets[i]
        if (o > to) return out
        if (o >= from && (want === undefined || want(o))) out.push(p.objects[i] ?? decode(p, i))
      }
    }
    return out
  }

  /** Calls `fn(offset, priority)` for each held event from `from` on, in order (a replay's listing: nothing decoded). */
  forEachFrom (from: number, fn: (offset: number, priority: number) => void): void {
    for (const p of this.pages) {
      for (let i = p.head; i < p.count; i++) {
        const o = p.offsets[i]
        if (o >= from) fn(o, p.priorities[i])
      }
    }
  }

  /** Bytes of the held events' texts from `from` on (no newlines), what owedBytes counts. */
  textBytesFrom (from: number): number {
    let n = 0
    for (const p of this.pages) for (let i = p.head; i < p.count; i++) if (p.offsets[i] >= from) n += p.lengths[i] - 1
    return n
  }

  /** The first held offset stamped at or after `ms`; -1 when none. */
  offsetAtTime (ms: number): number {
    for (const p of this.pages) for (let i = p.head; i < p.count; i++) if (p.timestamps[i] >= ms) return p.offsets[i]
    return -1
  }

  // --- the batcher's side ---

  /**
   * The held events not yet handed to an append, as segment lines, a part
   * per page (in offset order): views of this store's memory, which is never
   * written again while they are held (new events go after them, or in a
   * new page).
   */
  takeForAppend (): LineBatch[] {
    const out: LineBatch[] = []
    for (const p of this.pages) {
      if (p.taken === p.count) continue
      out.push(p.lines(p.taken, p.count))
      p.taken = p.count
    }
    return out
  }

  /**
   * Events up to `lastOffset` are stored: they are no longer held. Pages
   * stored in full are let go (to the pool), but the last, which is kept for
   * the next events, from its front (see trim).
   */
  stored (lastOffset: number): void {
    const pages = this.pages
    while (pages.length > 0) {
      const p = pages[0]
      const h = storedUpTo(p, lastOffset)
      this.n -= h - p.head
      this.held -= bytesOf(p, p.head, h)
      p.head = h
      if (h < p.count) return
      if (pages.length === 1) {
        p.reset()
        return
      }
      pages.shift()
      letGo(p)
    }
  }

  /** Memory held (bytes and numbers of its pages), for tests and stats. */
  get capacityBytes (): number {
    let n = 0
    for (const p of this.pages) n += p.byteSize
    return n
  }

  /** Lets the memory go if nothing is held (the topic had nothing new for a batch interval: a broker may have many quiet topics). */
  trim (): void {
    if (this.n === 0 && this.pages.length > 0) this.clear()
  }

  /** The append failed: its events go again with the next batch. */
  appendFailed (): void {
    for (const p of this.pages) p.taken = p.head
  }

  /** Forgets every held event and lets the memory go (a page an append is still reading is left to it and the GC). */
  clear (): void {
    for (const p of this.pages) if (!p.inAppend) letGo(p)
    this.pages = []
    this.n = this.held = 0
  }
}

/** The event at `i` of `p`, decoded from its bytes. */
function decode (p: Page, i: number): StoredEvent {
  const start = p.starts[i]
  const json = (p.bytes as Utf8Buffer).utf8Slice(start, start + p.lengths[i] - 1)
  const line = decodeLine(json)
  // The bytes are a sealed event the broker wrote itself: a failure here is a bug, not damage.
  if (line === null) throw new Error(`unstored event ${p.offsets[i]} does not decode`)
  return { id: line.id, key: line.key, priority: p.priorities[i], offset: p.offsets[i], timestamp: p.timestamps[i], json }
}

/**
 * The index of the first event of `p` from its head on above `lastOffset`;
 * those before it let their objects go. The loop is alone in its function:
 * V8 compiles it while it runs, and code after it that had not run yet made
 * that code bail out at every batch.
 */
function storedUpTo (p: Page, lastOffset: number): number {
  let h = p.head
  while (h < p.count && p.offsets[h] <= lastOffset) {
    p.objects[h] = undefined
    h++
  }
  return h
}

/** Bytes of the lines [from, to) of `p` (they are back to back). */
function bytesOf (p: Page, from: number, to: number): number {
  return from < to ? p.starts[to - 1] + p.lengths[to - 1] - p.starts[from] : 0
}
