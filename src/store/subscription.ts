import { AtMostOnceQueue } from './atMostOnceQueue'
import { InFlight } from './inFlight'
import type { StoredEvent } from './event'
import { PendingIndex } from './pendingIndex'
import { READ_SLICE_BYTES, type Topic } from './topic'

/**
 * A delivery read of the segments fetches up to this many owed offsets of one priority (within READ_SLICE_BYTES),
 * and at most READ_AHEAD_PER_SLOT per in-flight slot: the read-ahead a subscription holds stays in proportion to
 * the deliveries it may hold anyway.
 */
const READ_AHEAD_EVENTS = 4096
const READ_AHEAD_PER_SLOT = 4
/**
 * ... reading over the lines of other priorities between its runs, unless more than this many lie between two runs:
 * skipping a few lines undecoded is cheaper than another read, skipping a long stretch is not.
 */
const READ_OVER_GAP = 64

/** Where a subscription's deliveries go. Implemented by a connection; the store never sees sockets. */
export interface DeliverySink {
  /** False while the client is not draining its socket: deliveries wait in the queue. */
  canDeliver: () => boolean
  /** True while the client is not draining its socket or is going away (a pause for the journal does not count). */
  stalled: () => boolean
  deliver: (topic: string, ev: StoredEvent, deliveries: number) => void
  /**
   * The subscription ended (Topic.unsubscribe): the sink forgets it; for an
   * end the client did not ask for (its range was acked, its topic deleted)
   * it says so (`END <topic> <reason>`). See QUIET_ENDS.
   */
  ended?: (sub: Subscription, reason: string) => void
  /** A sink shared by several clients (a consumer group): a delivery left flight (acked, taken back, timed out). */
  settled?: (key: string) => void
  /** A shared sink: whether the in-flight event `key` was delivered to `member` (only that member may settle it). */
  heldBy?: (key: string, member: DeliverySink) => boolean
  /** A shared sink: `member` leaves (its connection closed, or it unsubscribed); what it held goes back to the queue. */
  leave?: (member: DeliverySink) => void
}

/** Ends a subscriber asked for itself (or that it caused): its sink forgets the subscription without an `END` line. */
export const QUIET_ENDS: ReadonlySet<string> = new Set(['unsub', 'disconnect', 'revoked'])

/**
 * An in-flight cap shared by several subscriptions (a wildcard subscription's
 * topics): each may deliver only while the whole has room, and a pump of one
 * pumps them all, in turn.
 */
export interface SharedCap {
  /** Deliveries the whole may still make now. */
  free: () => number
  /** Fills the free slots from the members, in turn. */
  pump: () => void
}

/**
 * What makes a named subscription a webhook subscriber (src/webhooks): its
 * settings and the retry state that outlives a restart. The durability layer
 * keeps it (`H` and `F` state records); the store only carries it.
 */
export interface HookSettings {
  url: string
  /** `whsec_<base64>`, kept in the state log like the subscription itself. */
  secret: string
  /** Deliveries before an event is dead-lettered; null: retried for ever. */
  maxDeliveries: number | null
  /** Failed attempts since the last success. */
  failures: number
  /** While backing off, when the webhook may send again (ms since epoch); null otherwise. */
  nextAttemptAt: number | null
  /** Why the webhook stopped delivering (410 Gone); null while it delivers. */
  disabledReason: string | null
}

/** An event handed to the subscriber and not yet acknowledged. */
export interface Delivery {
  ev: StoredEvent
  /** How many times it has been delivered, this time included. */
  deliveries: number
  /** When an unacked delivery times out (ms since epoch); for a nacked one with a delay, when it is due again. */
  deadline: number
  /** When it last went in flight, as a count of the subscription's sends: expired deliveries go back in this order. */
  seq: number
}

/** Highest priority first; equal priorities in offset (publish) order. */
export function byPriorityThenOffset (a: StoredEvent, b: StoredEvent): number {
  return (b.priority - a.priority) || (a.offset - b.offset)
}

/** The order deliveries went in flight. */
function bySend (a: Delivery, b: Delivery): number {
  return a.seq - b.seq
}

function deliveryOrder (a: Delivery, b: Delivery): number {
  return byPriorityThenOffset(a.ev, b.ev)
}

/**
 * One subscriber's view of one topic. It is owed every offset of the topic
 * from `start` on (up to `to` for a range) that it has not acked; it holds
 * no event texts for them: `waiting` is a compact index of the offsets never
 * delivered (runs per priority), the texts come from the topic (memory, hot
 * cache, or one read of the segments at a time) when they are delivered.
 * Events delivered and not acked are held as Delivery objects (bounded by
 * the in-flight cap): in flight, owed a redelivery, or delayed by nack.
 */
export class Subscription {
  readonly topic: Topic
  /** The subscriber's name, or `#<connection id>` for an anonymous one. */
  readonly key: string
  readonly named: boolean
  maxInFlight: number
  /** How long a delivery may stay unacked before it is delivered again. */
  ackTimeoutMs: number
  sink: DeliverySink | null = null
  /**
   * On a private topic, the user that made (or last resumed) this
   * subscription: `revoke` ends the subscriptions of the user it takes `sub`
   * from. Null on public topics. Durable for named subscriptions.
   */
  user: string | null = null
  /** Set for a webhook subscriber: where it delivers and its durable retry state. Null for a connection's subscription. */
  hook: HookSettings | null = null
  /** When the subscriber last acked (flow control tells active subscribers from stuck ones). */
  lastAckAt = 0
  /** The first offset this subscription is owed. */
  readonly start: number
  /** The last offset of a range subscription; 0 for none. */
  readonly to: number
  /** Delivered and not acked, by event id (see InFlight: read like a Map keyed by the id's text). */
  readonly inFlight = new InFlight()
  /** Offsets owed and never delivered: highest priority first, then lowest offset. */
  waiting = new PendingIndex()
  /** A replay: offsets from here to the topic's end are still to be listed from the segments; -1 once listed. */
  listFrom = -1
  /** Set once the subscription has ended: late reads and listings leave it alone. */
  ended = false
  /**
   * `ack=none` (at most once): events are written and forgotten; this holds
   * only those waiting for the socket to drain. Null for an acked subscription.
   */
  atMostOnce: AtMostOnceQueue | null = null
  /** Events this subscription lost undelivered: its at-most-once bound, or the drop-oldest overflow policy. */
  dropped = 0
  /** The cap this subscription shares with others (a wildcard subscription's), or null. */
  shared: SharedCap | null = null
  /** Delivered before and not acked (e.g. the subscriber went away): these go out first. */
  private redeliver: Delivery[] = []
  /** Nacked with a delay: due again at their deadline. */
  private delayed: Delivery[] = []
  /** A read of the segments is under way (at most one at a time). */
  private reading = false
  /**
   * Events the last read of the segments brought, in offset order, from
   * `aheadAt`: the next deliveries of a backlog or replay, read in one large
   * sequential chunk (at most READ_SLICE_BYTES) and kept here, not in the
   * shared hot cache.
   */
  private ahead: StoredEvent[] = []
  private aheadAt = 0
  /** Deliveries sent so far (Delivery.seq). */
  private sends = 0

  constructor (topic: Topic, key: string, named: boolean, maxInFlight: number, ackTimeoutMs: number, start = topic.nextOffset, to = 0) {
    this.topic = topic
    this.key = key
    this.named = named
    this.maxInFlight = maxInFlight
    this.ackTimeoutMs = ackTimeoutMs
    this.start = start
    this.to = to
  }

  /** Events held and not in flight (waiting, owed a redelivery, delayed by nack, or still to be listed). */
  get pending (): number {
    if (this.atMostOnce !== null) return this.atMostOnce.size
    let n = this.waiting.size + this.redeliver.length + this.delayed.length
    if (this.listFrom >= 0) n += Math.max(0, (this.to > 0 ? Math.min(this.to + 1, this.topic.nextOffset) : this.topic.nextOffset) - this.listFrom)
    return n
  }

  /** Events held that were delivered before and not acked: owed a redelivery, delayed by nack, or in flight again (the dashboard). */
  get redeliveries (): number {
    let n = this.redeliver.length + this.delayed.length
    for (const d of this.inFlight.values()) if (d.deliveries > 1) n++
    return n
  }

  /** True while this subscription has deliveries with deadlines (in flight or delayed). */
  get timed (): boolean {
    return this.inFlight.size > 0 || this.delayed.length > 0
  }

  /** Adds a newly published event; delivers it at once when a slot is free and nothing is ahead of it. */
  enqueue (ev: StoredEvent): void {
    if (this.atMostOnce !== null) { this.topic.taken(ev.offset); this.offer(this.atMostOnce, ev); return }
    if (this.listFrom >= 0) return // a replay under way lists it with the rest
    if (ev.offset < this.start || (this.to > 0 && ev.offset > this.to)) { this.topic.taken(ev.offset); return }
    const sink = this.sink
    if (sink !== null && this.inFlight.size < this.maxInFlight && (this.shared === null || this.shared.free() > 0) && this.waiting.size === 0 &&
        this.redeliver.length === 0 && sink.canDeliver() && !this.inFlight.hasEventId(ev)) {
      this.send(sink, { ev, deliveries: 1, deadline: this.topic.clock.now() + this.ackTimeoutMs, seq: 0 })
      return
    }
    this.waiting.add(ev.offset, ev.priority)
  }

  /** At most once: written now if nothing waits and the socket drains, else queued by priority (the bound may drop one). */
  private offer (queue: AtMostOnceQueue, ev: StoredEvent): void {
    const sink = this.sink
    if (queue.size === 0 && sink !== null && sink.canDeliver()) {
      sink.deliver(this.topic.name, ev, 1)
      return
    }
    if (queue.push(ev)) {
      this.dropped++
      this.topic.droppedAtMostOnce()
    }
  }

  /** Recovery: an event delivered before the restart and not acked, owed a redelivery. */
  restoreDelivered (ev: StoredEvent, deliveries: number): void {
    this.redeliver.push({ ev, deliveries, deadline: 0, seq: 0 })
  }

  /** Recovery: the offsets owed and never delivered, rebuilt from the state log. */
  restoreWaiting (waiting: PendingIndex): void {
    this.waiting = waiting
  }

  /** Recovery is done: put restored redeliveries in delivery order. */
  restoreDone (): void {
    this.redeliver.sort(deliveryOrder)
  }

  /**
   * Fills free in-flight slots: redeliveries first, then by priority, then
   * offset. `now`: the clock's reading, when the caller has just read it (an
   * ack): the deadlines of the deliveries are set from it instead of a
   * second read (a clock read is ~40 ns, a few percent of an acked event).
   */
  pump (now?: number): void {
    if (this.shared !== null) this.shared.pump()
    else this.pumpOwn(now)
  }

  /** pump() of this subscription alone (a shared cap pumps its members with this). */
  pumpOwn (now?: number): void {
    const sink = this.sink
    if (sink === null || this.listFrom >= 0) return
    const queue = this.atMostOnce
    if (queue !== null) {
      while (queue.size > 0 && sink.canDeliver()) sink.deliver(this.topic.name, queue.shift()!, 1)
      return
    }
    if (now === undefined) now = this.topic.clock.now()
    const shared = this.shared
    while (this.inFlight.size < this.maxInFlight && (shared === null || shared.free() > 0) && sink.canDeliver()) {
      let d: Delivery
      if (this.redeliver.length > 0) {
        d = this.redeliver[0]
        if (this.inFlight.hasEventId(d.ev)) break // an event with the same id is in flight: ack stays unambiguous
        this.redeliver.shift()
        d.deliveries++
        d.deadline = now + this.ackTimeoutMs
      } else {
        const offset = this.waiting.peek()
        if (offset < 0) break
        const ev = this.topic.eventAt(offset) ?? this.takeAhead(offset)
        if (ev === undefined) { this.read(offset); break }
        if (this.inFlight.hasEventId(ev)) break
        this.waiting.shift()
        d = { ev, deliveries: 1, deadline: now + this.ackTimeoutMs, seq: 0 }
      }
      this.send(sink, d)
    }
    if (this.to > 0) this.checkRangeDone()
  }

  /** Events held in the read-ahead now (tests). */
  get readAheadCount (): number {
    return this.ahead.length - this.aheadAt
  }

  /** The read-ahead event at `offset`, if held (entries before it are passed over: delivered or no longer owed). */
  private takeAhead (offset: number): StoredEvent | undefined {
    const a = this.ahead
    let i = this.aheadAt
    if (i >= a.length) return undefined
    if (a[i].offset !== offset) {
      // Another priority came first, or offsets left the queue: search forward, and drop the read-ahead once it is behind.
      if (offset > a[a.length - 1].offset) { this.ahead = []; this.aheadAt = 0; return undefined }
      let lo = i
      let hi = a.length - 1
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1
        if (a[mid].offset < offset) lo = mid + 1
        else hi = mid - 1
      }
      if (lo >= a.length || a[lo].offset !== offset) return undefined
      i = lo
    }
    this.aheadAt = i + 1
    if (i + 1 === a.length) { this.ahead = []; this.aheadAt = 0 }
    return a[i]
  }

  private send (sink: DeliverySink, d: Delivery): void {
    if (d.deliveries === 1) this.topic.taken(d.ev.offset)
    // The first deadline in flight: watched by the redelivery sweep, which lets go of a subscription only once it has
    // none (in flight or delayed), so one add per such start is enough (not one Set.add per delivery).
    if (this.inFlight.size === 0) this.topic.timed?.add(this)
    d.seq = ++this.sends
    this.inFlight.add(d)
    if (this.named) this.topic.observer?.delivered(this, d)
    sink.deliver(this.topic.name, d.ev, d.deliveries)
  }

  /**
   * Reads the events from `offset` (the next to deliver, not in memory) on:
   * the next offsets owed at its priority (READ_AHEAD_EVENTS, or 4 per
   * in-flight slot if fewer), in one
   * sequential read of at most READ_SLICE_BYTES (lines of other priorities
   * in between are skipped undecoded), kept as the read-ahead for the pumps
   * that follow (acks free slots a few at a time; each need not read
   * again); then pumps. Offsets the segments no longer hold (a damaged
   * segment was moved aside) are dropped from the queue.
   */
  private read (offset: number): void {
    if (this.reading) return
    this.reading = true
    const p = this.waiting.peekPriority()
    const level = this.waiting.level(p)!
    const most = Math.min(READ_AHEAD_EVENTS, READ_AHEAD_PER_SLOT * Math.max(1, this.maxInFlight))
    let k = 0
    let n = 0
    for (; k < level.runCount - 1; k++) {
      n += level.endAt(k) - level.startAt(k) + 1
      if (n >= most || level.startAt(k + 1) - level.endAt(k) > READ_OVER_GAP) break
    }
    if (k === level.runCount - 1) n += level.endAt(k) - level.startAt(k) + 1
    // The last run taken is cut where the count is reached.
    const last = n > most ? level.endAt(k) - (n - most) : level.endAt(k)
    // One run: every line of the stretch is wanted. Several: a cursor over a copy of the runs (lines come in offset
    // order; the live runs may change while the read is under way).
    let want: ((o: number) => boolean) | undefined
    if (k > 0) {
      const runs = new Float64Array(2 * (k + 1))
      for (let i = 0; i <= k; i++) { runs[2 * i] = level.startAt(i); runs[2 * i + 1] = level.endAt(i) }
      let r = 0
      want = (o) => {
        while (r < k && runs[2 * r + 1] < o) r++
        return o >= runs[2 * r] && o <= runs[2 * r + 1]
      }
    }
    this.topic.readEvents(offset, last, READ_SLICE_BYTES, want).then(events => {
      this.reading = false
      if (this.ended) return
      this.topic.rememberFor(this, events)
      // Whatever of [offset, first returned) the read did not bring is gone from the segments.
      const upTo = events.length > 0 ? events[0].offset - 1 : last
      let lost = 0
      for (let o = offset; o <= upTo; o++) if (this.waiting.remove(o, p)) lost++
      if (lost > 0) this.topic.lost(this, offset, upTo, lost)
      this.ahead = events
      this.aheadAt = 0
      this.pump()
      this.checkRangeDone()
    }, (err: unknown) => {
      this.reading = false
      if (this.ended) return
      this.topic.readFailed(this, err)
    })
  }

  /**
   * A replay: lists the offsets owed from `start` to the topic's end from the
   * segments' indexes (runs of offsets by priority, no event read; see
   * SegmentLog.listRuns), then the events still in memory, and only then
   * starts delivering, so the whole range is ordered by priority. New events
   * are left to the listing until it ends.
   */
  listPast (): void {
    this.listFrom = this.start
    void this.listMore()
  }

  /** After a failed read: carry on listing, or pump. */
  retryRead (): void {
    if (this.listFrom >= 0) void this.listMore()
    else this.pump()
  }

  private async listMore (): Promise<void> {
    for (;;) {
      if (this.ended) return
      const end = this.to > 0 ? this.to : Infinity
      const log = this.topic.log
      if (log !== null && this.listFrom <= log.lastOffset && this.listFrom <= end) {
        let listed: { runs: number[], next: number }
        try {
          listed = await log.listRuns(this.listFrom, Math.min(end, log.lastOffset))
        } catch (err) {
          if (!this.ended) this.topic.readFailed(this, err)
          return
        }
        if (this.ended) return
        const r = listed.runs
        for (let k = 0; k < r.length; k += 3) this.waiting.addRange(r[k], r[k + 1], r[k + 2])
        this.listFrom = Math.max(this.listFrom, listed.next)
        continue
      }
      // The rest is in memory: list it in this same turn, so no publish slips between.
      if (this.listFrom <= end) {
        this.topic.forEachUnflushedFrom(this.listFrom, (offset, priority) => { if (offset <= end) this.waiting.add(offset, priority) })
      }
      this.listFrom = -1
      this.pump()
      this.checkRangeDone()
      return
    }
  }

  /** Takes an in-flight delivery back (nack, timeout); the caller requeues it or dead-letters it. */
  takeBack (key: string, by?: DeliverySink): Delivery | undefined {
    const d = this.inFlight.get(key)
    if (d === undefined || !this.heldBy(key, by)) return undefined
    this.inFlight.delete(key)
    this.sink?.settled?.(key)
    return d
  }

  /** Whether `by` (a client; undefined: anyone) may settle the in-flight event `key`: in a consumer group, only the member it went to. */
  heldBy (key: string, by: DeliverySink | undefined): boolean {
    const heldBy = this.sink?.heldBy
    return by === undefined || heldBy === undefined || heldBy.call(this.sink, key, by)
  }

  /** In-flight deliveries whose deadline has passed, taken out of flight. */
  takeExpired (now: number): Delivery[] {
    let out: Delivery[] | null = null
    for (const d of this.inFlight.values()) {
      if (d.deadline <= now) (out ??= []).push(d)
    }
    if (out === null) return []
    if (out.length > 1) out.sort(bySend) // in the order they went out, as they were delivered
    for (const d of out) {
      this.inFlight.deleteEvent(d.ev)
      this.sink?.settled?.(d.ev.key)
    }
    return out
  }

  /** Puts a delivery back: it goes out again before anything new (by priority among those owed). */
  requeue (d: Delivery): void {
    let i = this.redeliver.length
    while (i > 0 && deliveryOrder(this.redeliver[i - 1], d) > 0) i--
    this.redeliver.splice(i, 0, d)
  }

  /** Holds a nacked delivery until `dueAt`. */
  delay (d: Delivery, dueAt: number): void {
    d.deadline = dueAt
    this.delayed.push(d)
    this.topic.timed?.add(this)
  }

  /** Moves delayed deliveries that are due back to the front of the queue; true if any moved. */
  releaseDue (now: number): boolean {
    if (this.delayed.length === 0) return false
    const still: Delivery[] = []
    let moved = false
    for (const d of this.delayed) {
      if (d.deadline <= now) { this.requeue(d); moved = true } else still.push(d)
    }
    this.delayed = still
    return moved
  }

  /** Extends an in-flight delivery's deadline; false when that id is not in flight. */
  touch (key: string, ms: number, now: number, by?: DeliverySink): boolean {
    const d = this.inFlight.get(key)
    if (d === undefined || !this.heldBy(key, by)) return false
    d.deadline = now + ms
    return true
  }

  /** True when dropLowest() has something to drop. */
  canDropLowest (): boolean {
    return this.waiting.size > 0
  }

  /**
   * Overflow policy drop-oldest: removes the lowest-priority, oldest offset
   * that was never delivered. Returns it (its priority is in
   * `waiting.lastPriority`), or -1 when every pending event has been
   * delivered before.
   */
  dropLowest (): number {
    const offset = this.waiting.shiftLowest()
    if (offset >= 0) {
      this.topic.owedStale = true
      this.dropped++
    }
    return offset
  }

  /**
   * Acknowledges an in-flight event; returns its delivery, or undefined when
   * that id is not in flight here. `now`: the clock's reading if the caller
   * has it (the ack handler reads it once for the ack, the refill and flow control).
   */
  ack (key: string, by?: DeliverySink, now?: number): Delivery | undefined {
    let d: Delivery | undefined
    if (by === undefined || this.sink?.heldBy === undefined) {
      d = this.inFlight.take(key) // anyone may settle it (heldBy): one lookup
      if (d === undefined) return undefined
    } else {
      d = this.inFlight.get(key)
      if (d === undefined || !this.heldBy(key, by)) return undefined
      this.inFlight.deleteEvent(d.ev)
    }
    this.sink?.settled?.(key)
    this.lastAckAt = now ?? this.topic.clock.now()
    this.topic.owedStale = true
    return d
  }

  /**
   * A batch ack: acks every event delivered to this subscription and not
   * acked (in flight, owed a redelivery, delayed by nack) whose offset is at
   * most `upTo`. Waiting events are not acked. Returns how many.
   */
  commit (upTo: number): number {
    let n = 0
    for (const d of this.inFlight.values()) {
      if (d.ev.offset <= upTo) { this.inFlight.deleteEvent(d.ev); this.sink?.settled?.(d.ev.key); n++ }
    }
    const keep = (d: Delivery): boolean => d.ev.offset > upTo
    const r = this.redeliver.filter(keep)
    const l = this.delayed.filter(keep)
    n += this.redeliver.length - r.length + this.delayed.length - l.length
    this.redeliver = r
    this.delayed = l
    if (n > 0) {
      this.lastAckAt = this.topic.clock.now()
      this.topic.owedStale = true
    }
    return n
  }

  /**
   * The offsets this subscription still owes, ascending: waiting, in flight,
   * owed a redelivery or delayed (not those of a replay still being listed).
   */
  owedOffsets (): number[] {
    const out: number[] = []
    this.waiting.forEachRun((_p, start, end) => { for (let o = start; o <= end; o++) out.push(o) })
    for (const d of this.inFlight.values()) out.push(d.ev.offset)
    for (const d of this.redeliver) out.push(d.ev.offset)
    for (const d of this.delayed) out.push(d.ev.offset)
    return out.sort((a, b) => a - b)
  }

  /** Drops an owed event wherever it waits (`requeue` moved it elsewhere); true when it was owed. */
  forget (offset: number, key: string): boolean {
    let found = this.waiting.removeAny(offset) >= 0
    const d = this.inFlight.get(key)
    if (d !== undefined && d.ev.offset === offset) { this.inFlight.deleteEvent(d.ev); found = true }
    const keep = (x: Delivery): boolean => x.ev.offset !== offset
    if (this.redeliver.some(x => !keep(x))) { this.redeliver = this.redeliver.filter(keep); found = true }
    if (this.delayed.some(x => !keep(x))) { this.delayed = this.delayed.filter(keep); found = true }
    if (found) this.topic.owedStale = true
    return found
  }

  /** Whether this subscription still holds the event at `offset` whose id is `key`. */
  holds (offset: number, key: string): boolean {
    if (offset < this.start || (this.to > 0 && offset > this.to)) return false
    if (this.inFlight.get(key)?.ev.offset === offset) return true
    if (this.waiting.has(offset)) return true
    if (this.listFrom >= 0 && offset >= this.listFrom) return true
    for (const d of this.redeliver) if (d.ev.offset === offset) return true
    for (const d of this.delayed) if (d.ev.offset === offset) return true
    return false
  }

  /** The lowest offset this subscription still holds (waiting, delivered or still to be listed); Infinity when none. */
  lowestOwed (): number {
    let low = this.waiting.lowestOffset()
    if (low < 0) low = Infinity
    if (this.listFrom >= 0 && this.listFrom < low) low = this.listFrom
    for (const d of this.inFlight.values()) if (d.ev.offset < low) low = d.ev.offset
    for (const d of this.redeliver) if (d.ev.offset < low) low = d.ev.offset
    for (const d of this.delayed) if (d.ev.offset < low) low = d.ev.offset
    return low
  }

  /** Every delivered and unacked event (in flight, owed a redelivery, delayed), in delivery order. */
  delivered (): Delivery[] {
    const out: Delivery[] = [...this.inFlight.values(), ...this.redeliver, ...this.delayed]
    out.sort(deliveryOrder)
    return out
  }

  /**
   * A range subscription whose every offset has been acked (nothing waiting,
   * delivered or still to list, and the topic has reached `to`) ends: the
   * subscriber is told `END <topic> <to>`. Only while a subscriber is
   * attached (`sub` checks again after attaching).
   */
  checkRangeDone (): void {
    // Not without a sink: the subscriber must be told, and the handler checks again once it is attached.
    if (this.to <= 0 || this.ended || this.sink === null || this.listFrom >= 0 || this.topic.nextOffset <= this.to) return
    if (this.waiting.size > 0 || this.inFlight.size > 0 || this.redeliver.length > 0 || this.delayed.length > 0 || this.reading) return
    this.topic.unsubscribe(this, String(this.to))
  }

  attach (sink: DeliverySink): void {
    this.sink = sink
  }

  /** The subscriber went away but the subscription lives on: in-flight events are owed a redelivery. */
  detach (): void {
    this.sink = null
    if (this.inFlight.size === 0 && this.delayed.length === 0) return
    for (const d of this.inFlight.values()) this.redeliver.push(d)
    this.inFlight.clear()
    for (const d of this.delayed) this.redeliver.push(d)
    this.delayed = []
    this.redeliver.sort(deliveryOrder)
  }

  /** Clears the subscription once it has ended (called by Topic.unsubscribe): it holds nothing any more. */
  destroy (): void {
    this.ended = true
    this.sink = null
    this.inFlight.clear()
    this.redeliver = []
    this.delayed = []
    this.waiting = new PendingIndex()
    this.ahead = []
    this.aheadAt = 0
    this.atMostOnce?.clear()
    this.listFrom = -1
    this.topic.owedStale = true
  }
}
