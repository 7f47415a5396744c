import { PendingIndex } from '../store/pendingIndex'
import type { HookSettings } from '../store/subscription'
import type { SnapshotHeader, SubImage } from './stateCodec'

/** Delivered offsets keep their priority and count in one number. */
const PACK = 16

/** One subscription's state as rebuilt from a snapshot and the state log records after it. */
export class SubState implements SubImage {
  readonly name: string
  maxInFlight: number
  ackTimeoutMs: number
  readonly start: number
  readonly to: number
  /** Offsets >= tailFrom (up to `to`) are owed without being listed yet: the topic's events after the snapshot. */
  tailFrom: number
  /** On a private topic, the user that made (or last resumed) the subscription. */
  user: string | null = null
  /** A webhook subscriber's settings and retry state (H and F records); null otherwise. */
  hook: HookSettings | null = null
  readonly waiting = new PendingIndex()
  /** offset -> priority + 16 * deliveries, for events delivered and not acked. */
  readonly delivered = new Map<number, number>()
  /** Offsets >= tailFrom already delivered or acked: not owed when the tail is listed. */
  private taken: Set<number> | null = null

  constructor (name: string, maxInFlight: number, ackTimeoutMs: number, start: number, to: number, tailFrom: number) {
    this.name = name
    this.maxInFlight = maxInFlight
    this.ackTimeoutMs = ackTimeoutMs
    this.start = start
    this.to = to
    this.tailFrom = tailFrom
  }

  forEachDelivered (fn: (offset: number, priority: number, deliveries: number) => void): void {
    for (const [o, v] of this.delivered) fn(o, v % PACK, Math.floor(v / PACK))
  }

  deliveriesOf (offset: number): number {
    const v = this.delivered.get(offset)
    return v === undefined ? 0 : Math.floor(v / PACK)
  }

  markDelivered (offset: number, priority: number, n: number): void {
    if (offset < this.tailFrom) this.waiting.remove(offset, priority)
    else this.take(offset)
    const had = this.delivered.get(offset)
    this.delivered.set(offset, priority + PACK * Math.max(n, had === undefined ? 0 : Math.floor(had / PACK)))
  }

  acked (first: number, last: number): void {
    for (let o = first; o <= last; o++) {
      this.delivered.delete(o)
      if (o < this.tailFrom) this.waiting.removeAny(o)
      else this.take(o)
    }
  }

  committed (upTo: number): void {
    for (const o of this.delivered.keys()) {
      if (o > upTo) continue
      this.delivered.delete(o)
      if (o >= this.tailFrom) this.take(o)
    }
  }

  /** An event of the tail (offset >= tailFrom, in offset order): owed unless taken or past `to`. */
  addTail (offset: number, priority: number): void {
    if (offset < this.tailFrom || (this.to > 0 && offset > this.to)) return
    if (this.taken?.has(offset) === true || this.delivered.has(offset)) return
    this.waiting.add(offset, priority)
  }

  /** The tail has been listed up to nextOffset. */
  finishTail (nextOffset: number): void {
    this.tailFrom = Math.max(this.tailFrom, nextOffset)
    this.taken = null
  }

  /** Lowest offset still owed (waiting, delivered, or in the unlisted tail); Infinity when none. */
  lowestOwed (): number {
    let low = this.waiting.lowestOffset()
    if (low < 0) low = Infinity
    for (const o of this.delivered.keys()) if (o < low) low = o
    return Math.min(low, this.tailFrom)
  }

  private take (offset: number): void {
    (this.taken ??= new Set()).add(offset)
  }
}

/**
 * A topic's subscription state rebuilt at start-up: apply a snapshot's lines,
 * then the state log records after it (stateCodec.ts for both formats), then
 * list the topic's events from the lowest tailFrom on (addTail), and
 * finishTail. Records for an unknown subscription are ignored (it was ended).
 */
export class TopicState {
  topic: string
  snapshot = 0
  /** Journal generations up to this one are reflected. */
  gen = 0
  nextOffset = 1
  nextAutoId = 1
  /** Keyed by client id in a Map: no name can collide with an object property. */
  readonly subs = new Map<string, SubState>()
  /** Private topics: each user's grant (`pub`, `sub` or `both`). */
  readonly grants = new Map<string, string>()

  constructor (topic: string) {
    this.topic = topic
  }

  /** Applies a parsed state-log record (parseStateLine). */
  apply (rec: unknown[]): void {
    const kind = rec[0] as string
    if (kind === 'G') {
      this.gen = Math.max(this.gen, rec[1] as number)
      this.nextOffset = Math.max(this.nextOffset, rec[2] as number)
      this.nextAutoId = Math.max(this.nextAutoId, rec[3] as number)
      return
    }
    const name = rec[1] as string
    if (kind === 'R') {
      if (rec[2] === 'none') this.grants.delete(name)
      else this.grants.set(name, rec[2] as string)
      return
    }
    if (kind === 'S') {
      // A snapshot's S has tailFrom at 6 and the user after it; a log's has the user at 6.
      const snapshotted = typeof rec[6] === 'number'
      const user = (snapshotted ? rec[7] : rec[6]) as string | undefined ?? null
      let sub = this.subs.get(name)
      if (sub === undefined) {
        const start = rec[4] as number
        sub = new SubState(name, rec[2] as number, rec[3] as number, start, rec[5] as number, snapshotted ? rec[6] as number : start)
        this.subs.set(name, sub)
      } else {
        sub.maxInFlight = rec[2] as number
        sub.ackTimeoutMs = rec[3] as number
      }
      sub.user = user
      return
    }
    if (kind === 'U') { this.subs.delete(name); return }
    if (kind === 'H' || kind === 'F') { this.applyHook(kind, name, rec); return }
    if (kind !== 'D' && kind !== 'A' && kind !== 'C' && kind !== 'W') throw new Error(`record kind ${JSON.stringify(kind)} does not belong in a state log`)
    const sub = this.subs.get(name)
    if (sub === undefined) return
    if (kind === 'D') {
      if (rec.length === 5) sub.markDelivered(rec[2] as number, rec[3] as number, rec[4] as number)
      else for (let i = 0, a = rec[2] as number[]; i < a.length; i += 3) sub.delivered.set(a[i], a[i + 1] + PACK * a[i + 2])
    } else if (kind === 'A') {
      sub.acked(rec[2] as number, rec[3] as number)
    } else if (kind === 'C') {
      sub.committed(rec[2] as number)
    } else {
      for (let i = 0, a = rec[3] as number[]; i < a.length; i += 2) sub.waiting.addRange(a[i], a[i + 1], rec[2] as number)
    }
  }

  /** H: the subscription is a webhook subscriber (its retry state starts clear); F: its retry state. */
  private applyHook (kind: 'H' | 'F', name: string, rec: unknown[]): void {
    const sub = this.subs.get(name)
    if (sub === undefined) return
    if (kind === 'H') {
      sub.hook = { url: rec[2] as string, secret: rec[3] as string, maxDeliveries: rec[4] as number | null, failures: 0, nextAttemptAt: null, disabledReason: null }
    } else if (sub.hook !== null) {
      sub.hook.failures = rec[2] as number
      sub.hook.nextAttemptAt = rec[3] as number | null
      sub.hook.disabledReason = rec[4] as string | null
    }
  }

  /** Applies a snapshot's header line. */
  applyHeader (h: SnapshotHeader): void {
    if (h.topic !== this.topic) throw new Error(`snapshot is of topic ${JSON.stringify(h.topic)}, not ${JSON.stringify(this.topic)}`)
    this.snapshot = h.snapshot
    this.gen = h.gen
    this.nextOffset = h.nextOffset
    this.nextAutoId = h.nextAutoId
  }

  /** Where listing the topic's events must start (Infinity when no subscription has an unlisted tail). */
  tailFrom (): number {
    let low = Infinity
    for (const s of this.subs.values()) if (s.tailFrom < low) low = s.tailFrom
    return low
  }

  /** An event of the topic, offsets in increasing order, from tailFrom() on. */
  addTail (offset: number, priority: number): void {
    for (const s of this.subs.values()) s.addTail(offset, priority)
  }

  finishTail (nextOffset: number): void {
    this.nextOffset = Math.max(this.nextOffset, nextOffset)
    for (const s of this.subs.values()) s.finishTail(this.nextOffset)
  }

  /** The lowest offset any subscription still owes (what retention keeps); Infinity when none. */
  lowestOwed (): number {
    let low = Infinity
    for (const s of this.subs.values()) low = Math.min(low, s.lowestOwed())
    return low
  }

  /** Frozen copies of the subscriptions, for a snapshot written while this state moves on. */
  images (): SubImage[] {
    const out: SubImage[] = []
    for (const s of this.subs.values()) {
      const delivered = new Map(s.delivered)
      out.push({
        name: s.name,
        maxInFlight: s.maxInFlight,
        ackTimeoutMs: s.ackTimeoutMs,
        start: s.start,
        to: s.to,
        tailFrom: s.tailFrom,
        user: s.user,
        waiting: s.waiting.clone(),
        hook: s.hook === null ? null : { ...s.hook },
        forEachDelivered: (fn) => { for (const [o, v] of delivered) fn(o, v % PACK, Math.floor(v / PACK)) },
      })
    }
    return out
  }

  /** What a compaction rewrites: subscriptions, runs and unacked deliveries (never the pending events one by one). */
  liveEntries (): number {
    let n = 0
    for (const s of this.subs.values()) n += 1 + s.waiting.runCount + s.delivered.size
    return n
  }
}
