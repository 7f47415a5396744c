import { systemClock, type Clock } from '../clock'
import type { LineBatch } from '../persistence/lineBatch'
import type { SegmentLine } from '../persistence/segmentCodec'
import type { StoredEvent } from './event'
import { flat } from './flatString'
import type { EventCache } from './eventCache'
import { RecentIds } from './recentIds'
import { AtMostOnceQueue } from './atMostOnceQueue'
import { Subscription, type Delivery } from './subscription'
import { UnstoredEvents } from './unstoredEvents'

/** Told of store changes that no command handler sees (deliveries happen inside the store). */
export interface StoreObserver {
  topicCreated: (topic: Topic) => void
  /** The topic was deleted (Store.deleteTopic): its files go. */
  topicDeleted?: (topic: Topic) => void
  /** A named subscription handed an event to its subscriber. */
  delivered: (sub: Subscription, d: Delivery) => void
  /**
   * A subscription ended (Topic.unsubscribe, the one path for every end): `unsub`, `disconnect`
   * (an anonymous subscriber's connection closed), `revoked`, `deleted` (its topic), or its
   * range was acked (the range end). Returns the ticket a confirming reply waits for (0: none).
   */
  ended?: (sub: Subscription, reason: string) => number
  /** Offsets a subscription was owed are no longer in the segments (a damaged segment was moved aside): skipped. */
  eventsLost?: (sub: Subscription, from: number, to: number, count: number) => void
  /** A read of the segments failed (I/O error): the subscription tries again a second later. */
  readFailed?: (sub: Subscription, err: unknown) => void
}

/** What a grant on a private topic allows its user (`grant`/`revoke`). */
export interface GrantRights {
  pub: boolean
  sub: boolean
}

/** Grants by topic, then by user: what cluster mode reads from Redis for the gate of a command that spans topics (`route`, `exchanges`). */
export type TopicGrants = ReadonlyMap<string, ReadonlyMap<string, GrantRights>>

/**
 * What a topic needs of its stored events (storage v2's SegmentLog): the
 * retained range, positional reads, and estimates from the sparse index.
 */
export interface StoredEventLog {
  /** First retained offset (the next offset when nothing is retained). */
  readonly firstOffset: number
  /** Last stored offset (firstOffset - 1 when none). */
  readonly lastOffset: number
  /** Events retained. */
  readonly count: number
  /** Bytes retained. */
  readonly bytes: number
  /** `want`: only offsets it accepts are returned (the others are skipped without decoding). */
  readRange: (from: number, to: number, maxBytes: number, skip?: undefined, want?: (offset: number) => boolean) => Promise<SegmentLine[]>
  /** The stored offsets in [from, to] as `[start, end, priority]` runs, a slice at a time, without reading events (SegmentLog.listRuns). */
  listRuns: (from: number, to: number) => Promise<{ runs: number[], next: number }>
  /** Bytes of the stored events from `offset` on (an estimate inside a segment). */
  bytesFrom: (offset: number) => number
  /** The first stored offset stamped at or after `ms` (lastOffset + 1 when none); reads a little of one segment. */
  offsetAtTimeSync: (ms: number) => number
  /** The retained events at these offsets (ascending), read synchronously. */
  readOffsetsSync?: (offsets: readonly number[]) => SegmentLine[]
}

/** Where a new subscription starts (`sub … from=`): see Topic.startOffset. */
export type StartAt = 'next' | 'beginning' | 'latest' | { offset: number } | { time: number }

/** What a topic needs of its store. */
export interface TopicHost {
  observer: StoreObserver | null
  timed: Set<Subscription>
  clock: Clock
  cache: EventCache | null
  /** The store-wide total of owed bytes (Store.pendingBytes), kept up to date by each topic. */
  pendingBytes: number
  /** Store-wide counters a topic adds to (Store.counters). */
  readonly counters?: { atMostOnceDropped: number }
  /** Whether the topic of this name keeps no events for replay (retention 0). */
  keepsNothing?: (topic: string) => boolean
}

/** "000" to "999": the last three digits of a broker-assigned id (Topic.assignId). */
const THREE_DIGITS: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'))

/** Reads of one segment range: 256 KiB at most, so a replay never holds much at once. */
export const READ_SLICE_BYTES = 256 * 1024

/**
 * A topic: its events by offset, its subscriptions by key, its grants
 * (private topics). Storage v2: every accepted event gets the next offset;
 * events not yet stored in the topic's segments (published since the last
 * batch, or being appended) are held here, later ones are read back from the
 * segments (through the shared hot-event cache). Subscriptions hold offsets,
 * not events.
 */
export class Topic {
  readonly name: string
  readonly subscriptions = new SubscriptionTable()
  /** Private topics: the rights the owner granted, by user. Durable like the subscriptions. */
  readonly grants = new Map<string, GrantRights>()
  /** The offset the next published event gets. */
  nextOffset = 1
  /** Next id the broker assigns to an event published without one. */
  nextAutoId = 1
  /** Publisher-given ids seen recently (pending ones, and the dedupe window). */
  readonly ids = new RecentIds()
  /** The stored events (set by the durability layer once the topic's files are open); null: memory only. */
  log: StoredEventLog | null = null
  /** Recently stored or read events, by offset; bounded with every other topic's by the store's EventCache. */
  readonly cached = new Map<number, StoredEvent>()
  /** Estimated bytes of the events some subscription still holds (the figure maxPendingBytes limits). */
  owedBytes = 0
  /** An ack or an ended subscription may have lowered owedBytes since it was last computed. */
  owedStale = false
  /** Set once the topic is deleted: late callbacks leave it alone. */
  deleted = false
  observer: StoreObserver | null
  /** The store's clock (the system clock for a topic outside a store, as in unit tests). */
  readonly clock: Clock
  /** The store's set of subscriptions with deadlines to watch (ack timeouts, nack delays). */
  readonly timed: Set<Subscription> | null
  private readonly cache: EventCache | null
  private readonly host: TopicHost | null
  /** Events not yet in the segments (as their segment lines, off the heap), in offset order. */
  private readonly unflushed = new UnstoredEvents()
  /**
   * Retention 0: no event is kept for replay, so one that no subscription
   * owes when it is published (none, or only at-most-once ones) is never
   * stored; its offset is used all the same (the batch marker keeps the next
   * offset across restarts).
   */
  readonly keepsNothing: boolean

  constructor (name: string, host: TopicHost | null = null) {
    this.name = name
    this.observer = host?.observer ?? null
    this.timed = host?.timed ?? null
    this.clock = host?.clock ?? systemClock
    this.cache = host?.cache ?? null
    this.host = host
    this.keepsNothing = host?.keepsNothing?.(name) ?? false
  }

  /** String form of the id assignId() returned last (saves converting it again). */
  assignedKey = ''

  /** The thousands of the id assignId() gave last, and their digits (shared by the next 999 ids). */
  private idThousands = -1
  private idThousandsText = ''

  /** The next broker-assigned id (kept clear of numeric ids publishers chose: noteId). */
  assignId (): number {
    const n = this.nextAutoId
    // Its digits as the thousands' digits (made once per thousand ids) and three from a table: half the cost of String(n) per event.
    const k = Math.floor(n / 1000)
    if (k === 0) {
      this.assignedKey = String(n)
    } else {
      if (k !== this.idThousands) {
        this.idThousands = k
        this.idThousandsText = String(k)
      }
      this.assignedKey = this.idThousandsText + THREE_DIGITS[n - k * 1000]
    }
    this.nextAutoId = n + 1
    return n
  }

  /** Keeps broker-assigned ids clear of numeric ids publishers chose themselves. */
  noteId (key: string): void {
    if (key.length < 16 && /^\d+$/.test(key)) {
      const n = Number(key)
      if (n >= this.nextAutoId) this.nextAutoId = n + 1
    }
  }

  /**
   * Adds a sealed event (offset nextOffset) to the topic and fans it out to
   * every current subscription. Returns how many subscriptions there are.
   */
  publish (ev: StoredEvent, publisherId: boolean): number {
    this.nextOffset = ev.offset + 1
    const subs = this.subscriptions
    const list = subs.list
    // An at-most-once subscription owes nothing (not counted in owedBytes) and never asks the topic for the
    // object (its queue holds the event itself): only the others are counted in `wanted`.
    const owing = subs.owing
    // Either way the text ends up flat (see StoredEvent.json): the push encodes it, which flattens it in place.
    if (owing > 0 || !this.keepsNothing) this.unflushed.push(ev, owing)
    else flat(ev.json)
    if (publisherId) {
      this.ids.note(ev.key, ev.offset, ev.timestamp)
      this.noteId(ev.key)
    }
    if (list.length === 0) return 0
    if (owing > 0) this.setOwed(this.owedBytes + ev.json.length)
    // The list as it was when the event came (one that ends meanwhile is skipped, as a Map's iteration would).
    for (let i = 0; i < list.length; i++) {
      const sub = list[i]
      if (!sub.ended) sub.enqueue(ev)
    }
    return list.length
  }

  /** Subscriptions owed the events published now (those that are not at most once). */
  get owingSubscriptions (): number {
    return this.subscriptions.owing
  }

  /** Named subscriptions (their events are journaled). */
  get namedSubscriptions (): number {
    return this.subscriptions.named
  }

  /** The event at `offset` when it is in memory (not yet stored, or cached); undefined otherwise. */
  eventAt (offset: number): StoredEvent | undefined {
    const u = this.unflushed
    if (u.size > 0 && offset >= u.firstOffset) return u.get(offset)
    return this.cached.get(offset)
  }

  /**
   * A subscription has handed the event at `offset` over for the first time
   * (its delivery holds the event now), or does not want it: once no
   * subscription may, the topic keeps only the event's bytes until they are
   * stored (see UnstoredEvents).
   */
  taken (offset: number): void {
    this.unflushed.release(offset)
  }

  /** First retained offset: the segments', else the first event in memory, else the next offset. */
  get firstOffset (): number {
    const log = this.log
    if (log !== null && log.count > 0) return log.firstOffset
    return this.unflushed.size > 0 ? this.unflushed.firstOffset : this.nextOffset
  }

  /** Events retained (stored and not yet stored). */
  get retainedEvents (): number {
    return (this.log?.count ?? 0) + this.unflushed.size
  }

  /** Bytes retained (stored, plus the text of those not yet stored). */
  get retainedBytes (): number {
    return (this.log?.bytes ?? 0) + this.unflushed.bytesHeld
  }

  /** What `topics` lists of this topic. */
  info (): { topic: string, firstOffset: number, lastOffset: number, retainedEvents: number, retainedBytes: number, subscribers: number, pending: number } {
    let pending = 0
    for (const s of this.subscriptions.values()) pending += s.pending + s.inFlight.size
    return {
      topic: this.name,
      firstOffset: this.firstOffset,
      lastOffset: this.nextOffset - 1,
      retainedEvents: this.retainedEvents,
      retainedBytes: this.retainedBytes,
      subscribers: this.subscriptions.size,
      pending,
    }
  }

  /**
   * Resolves where a new subscription starts: `next` (new events only),
   * `beginning` (every retained event), `latest` (the newest retained event,
   * then new ones), an offset (or the first retained one if it was trimmed),
   * or a time (the first event stamped at or after it).
   */
  startOffset (at: StartAt): number {
    const first = this.firstOffset
    if (at === 'next') return this.nextOffset
    if (at === 'beginning') return first
    if (at === 'latest') return this.nextOffset - 1 >= first ? this.nextOffset - 1 : this.nextOffset
    if ('offset' in at) return Math.max(at.offset, first)
    const log = this.log
    if (log !== null && log.count > 0) {
      const o = log.offsetAtTimeSync(at.time)
      if (o <= log.lastOffset) return o
    }
    const o = this.unflushed.offsetAtTime(at.time)
    return o >= 0 ? o : this.nextOffset
  }

  /**
   * Creates a subscription owed the offsets from `start` (default: the next
   * one) up to `to` (0: no end) and adds it to the topic. Offsets before the
   * topic's end are listed from the segments in the background before
   * anything is delivered (a replay). The caller reports it to durability,
   * attaches a sink, then pumps and checks whether the range is done already.
   */
  subscribe (key: string, named: boolean, maxInFlight: number, ackTimeoutMs: number, start = this.nextOffset, to = 0): Subscription {
    const sub = new Subscription(this, key, named, maxInFlight, ackTimeoutMs, start, to)
    this.subscriptions.set(key, sub)
    if (start < this.nextOffset) sub.listPast()
    return sub
  }

  /**
   * Creates an at-most-once (`ack=none`) subscription for new events: it
   * holds at most `maxWaiting` events waiting for its socket, and nothing
   * else (no offsets owed, no deliveries to ack, nothing for the journal).
   */
  subscribeAtMostOnce (key: string, maxWaiting: number): Subscription {
    const sub = new Subscription(this, key, false, 1, 0)
    sub.atMostOnce = new AtMostOnceQueue(maxWaiting)
    this.subscriptions.set(key, sub)
    return sub
  }

  /** Reported by an at-most-once subscription: its bound dropped a waiting event. */
  droppedAtMostOnce (): void {
    if (this.host?.counters !== undefined) this.host.counters.atMostOnceDropped++
  }

  /**
   * Adds a subscription rebuilt by recovery (its state restored, nothing to
   * list): the start-up side of subscribe().
   */
  adopt (sub: Subscription): void {
    this.subscriptions.set(sub.key, sub)
  }

  /**
   * Ends a subscription: the one path for every end (unsub, an anonymous
   * subscriber's disconnect, revoke, a range done, the topic deleted). It
   * leaves the topic and the deadline watch, holds nothing any more, and the
   * observer (durability: the `U` record) and its sink (the connection's
   * table, and `END` for ends the client did not ask for) are told. Returns
   * the ticket a confirming reply waits for (0: none). A second call does
   * nothing.
   */
  unsubscribe (sub: Subscription, reason: string): number {
    if (sub.ended) return 0
    const sink = sub.sink
    if (this.subscriptions.get(sub.key) === sub) this.subscriptions.delete(sub.key)
    this.timed?.delete(sub)
    sub.destroy()
    const ticket = this.observer?.ended?.(sub, reason) ?? 0
    sink?.ended?.(sub, reason)
    return ticket
  }

  /** Reported by a subscription: owed offsets that are gone from the segments were skipped. */
  lost (sub: Subscription, from: number, to: number, count: number): void {
    this.observer?.eventsLost?.(sub, from, to, count)
  }

  /** Reported by a subscription: a read failed; it tries again a second later (pump, or the listing). */
  readFailed (sub: Subscription, err: unknown): void {
    this.observer?.readFailed?.(sub, err)
    this.clock.after(1000, () => { if (!sub.ended) sub.retryRead() })
  }

  /** Whether some subscription still holds the event at `offset` whose id is `key`. */
  holds (offset: number, key: string): boolean {
    for (const s of this.subscriptions.values()) if (s.holds(offset, key)) return true
    return false
  }

  /** The lowest offset some subscription still holds (what retention keeps); Infinity when none. */
  lowestOwed (): number {
    let low = Infinity
    for (const s of this.subscriptions.values()) {
      const o = s.lowestOwed()
      if (o < low) low = o
    }
    return low
  }

  /** Recomputes owedBytes: the bytes from the lowest owed offset to the end. */
  refreshOwed (): void {
    this.owedStale = false
    const low = this.lowestOwed()
    if (low === Infinity) { this.setOwed(0); return }
    this.setOwed((this.log?.bytesFrom(low) ?? 0) + this.unflushed.textBytesFrom(low))
  }

  private setOwed (n: number): void {
    if (this.host !== null) this.host.pendingBytes += n - this.owedBytes
    this.owedBytes = n
  }

  /**
   * Events with offsets in [from, to], in order, about `maxBytes` at most
   * (at least one when there is one): from the segments as far as they go,
   * else from memory. Offsets not retained are skipped, and those `want`
   * refuses.
   */
  async readEvents (from: number, to: number, maxBytes = READ_SLICE_BYTES, want?: (offset: number) => boolean): Promise<StoredEvent[]> {
    const out: StoredEvent[] = []
    const log = this.log
    if (log !== null && from <= log.lastOffset) {
      const lines = await log.readRange(from, Math.min(to, log.lastOffset), maxBytes, undefined, want)
      for (const l of lines) out.push(this.eventAt(l.offset) ?? storedEventOf(l))
      return out
    }
    return this.unflushed.eventsIn(from, to, want)
  }

  /**
   * The events at these offsets (ascending) that are retained, from memory or
   * read synchronously from the segments: for a command that cannot wait
   * (`requeue`), so keep the list short.
   */
  eventsAtSync (offsets: readonly number[]): StoredEvent[] {
    const out: StoredEvent[] = []
    const missing: number[] = []
    for (const o of offsets) {
      const ev = this.eventAt(o)
      if (ev !== undefined) out.push(ev)
      else missing.push(o)
    }
    const log = this.log
    if (missing.length > 0 && log?.readOffsetsSync !== undefined) {
      for (const l of log.readOffsetsSync(missing)) out.push(storedEventOf(l))
      out.sort((a, b) => a.offset - b.offset)
    }
    return out
  }

  /** Calls `fn(offset, priority)` for each event in memory from `from` on (not yet stored), in order: the end of a listing. */
  forEachUnflushedFrom (from: number, fn: (offset: number, priority: number) => void): void {
    this.unflushed.forEachFrom(from, fn)
  }

  /**
   * Events `reader` just read from the segments go in the hot cache when
   * another connected subscriber waits for them (it will want them soon);
   * a lone replay keeps its reads to itself and leaves the cache alone.
   */
  rememberFor (reader: Subscription, events: readonly StoredEvent[]): void {
    const cache = this.cache
    if (cache === null || this.deleted || events.length === 0 || this.subscriptions.size < 2) return
    for (const s of this.subscriptions.values()) {
      if (s === reader || s.sink === null || (s.waiting.size === 0 && s.listFrom < 0)) continue
      for (const ev of events) if (s.listFrom >= 0 ? ev.offset >= s.listFrom || s.waiting.has(ev.offset) : s.waiting.has(ev.offset)) cache.put(this.cached, ev)
    }
  }

  // --- the batcher's side ---

  /** Events to append to the segments now (those not yet handed to an append), as segment lines, in parts. */
  takeForAppend (): LineBatch[] {
    return this.unflushed.takeForAppend()
  }

  /**
   * The append of events up to `lastOffset` is stored: they leave memory,
   * for the hot cache when a connected subscriber still waits for them (it
   * will want them soon); the others (delivered already, or a backlog for
   * subscribers that are away) only pass through.
   */
  appended (lastOffset: number): void {
    const u = this.unflushed
    const cache = this.cache
    if (cache !== null && !this.deleted && u.size > 0) {
      // The runs of what connected subscribers wait for, not every event: a backlog for subscribers away costs nothing here.
      const first = u.firstOffset
      for (const s of this.subscriptions.values()) {
        if (s.sink === null || s.waiting.size === 0) continue
        s.waiting.forEachIn(first, lastOffset, (o) => {
          const ev = u.get(o)
          if (ev !== undefined) cache.put(this.cached, ev)
        })
      }
    }
    u.stored(lastOffset)
  }

  /** No event for a whole batch interval: the memory that held the unstored ones goes back. */
  trimUnstored (): void {
    this.unflushed.trim()
  }

  /** The append failed: those events go again with the next batch. */
  appendFailed (): void {
    this.unflushed.appendFailed()
  }

  /** Recovery: an event from the journal, stored in no segment yet. */
  restoreUnflushed (ev: StoredEvent): void {
    this.unflushed.push(ev, 0)
    if (ev.offset >= this.nextOffset) this.nextOffset = ev.offset + 1
  }

  /** Whether the event at `offset` is held as an object, not only as its bytes, while not yet stored (tests). */
  holdsUnstoredObject (offset: number): boolean {
    return this.unflushed.holdsObject(offset)
  }

  /** Events held in memory waiting for the batcher (for tests and stats). */
  get unflushedCount (): number {
    return this.unflushed.size
  }

  /** The topic is deleted: every subscription ends, its events leave memory. */
  wipe (): void {
    this.deleted = true
    for (const s of [...this.subscriptions.values()]) this.unsubscribe(s, 'deleted')
    this.cache?.drop(this.cached)
    this.unflushed.clear()
    this.ids.clear()
    this.setOwed(0)
  }
}

/**
 * A topic's subscriptions by key, with what each publish asks of them kept
 * up to date at every change (subscriptions come and go rarely, events
 * often): the subscriptions as an array (no Map iterator per event), how many
 * are owed new events (not at most once) and how many are named.
 */
export class SubscriptionTable extends Map<string, Subscription> {
  /** The subscriptions, in the Map's order: a new array at every change, so a loop over it sees one state. */
  list: readonly Subscription[] = []
  /** Those that are not at most once: owed every new event. */
  owing = 0
  /** Named ones: their events are journaled. */
  named = 0

  override set (key: string, sub: Subscription): this {
    super.set(key, sub)
    this.changed()
    return this
  }

  override delete (key: string): boolean {
    const had = super.delete(key)
    if (had) this.changed()
    return had
  }

  override clear (): void {
    super.clear()
    this.changed()
  }

  private changed (): void {
    const list: Subscription[] = []
    let owing = 0
    let named = 0
    for (const s of this.values()) {
      list.push(s)
      if (s.atMostOnce === null) owing++
      if (s.named) named++
    }
    this.list = list
    this.owing = owing
    this.named = named
  }
}

/** A stored event from a line read back from a segment. */
export function storedEventOf (l: SegmentLine): StoredEvent {
  return { id: l.id, key: l.key, priority: l.priority, offset: l.offset, timestamp: l.timestamp, json: l.text }
}
