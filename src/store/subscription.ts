import type { StoredEvent } from './event'
import { EventQueue } from './eventQueue'
import type { Topic } from './topic'

/** Where a subscription's deliveries go. Implemented by a connection; the store never sees sockets. */
export interface DeliverySink {
  /** False while the client is not draining its socket: deliveries wait in the queue. */
  canDeliver: () => boolean
  /** True while the client is not draining its socket or is going away (a pause for the journal does not count). */
  stalled: () => boolean
  deliver: (topic: string, ev: StoredEvent, deliveries: number) => void
}

/** An event handed to the subscriber and not yet acknowledged. */
export interface Delivery {
  ev: StoredEvent
  /** How many times it has been delivered, this time included. */
  deliveries: number
  /** When an unacked delivery times out (ms since epoch); for a nacked one with a delay, when it is due again. */
  deadline: number
}

/** Highest priority first; equal priorities in publish order. */
export function byPriorityThenSeq (a: StoredEvent, b: StoredEvent): number {
  return (b.priority - a.priority) || (a.seq - b.seq)
}

function deliveryOrder (a: Delivery, b: Delivery): number {
  return byPriorityThenSeq(a.ev, b.ev)
}

/**
 * One subscriber's view of one topic: a priority queue of events not yet
 * delivered, events to deliver again first, and the in-flight set capped at
 * maxInFlight.
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
  /** When the subscriber last acked (flow control tells active subscribers from stuck ones). */
  lastAckAt = 0
  readonly inFlight = new Map<string, Delivery>()
  private readonly waiting = new EventQueue()
  /** Delivered before and not acked (e.g. the subscriber went away): these go out first. */
  private redeliver: Delivery[] = []
  /** Nacked with a delay: due again at their deadline. */
  private delayed: Delivery[] = []

  constructor (topic: Topic, key: string, named: boolean, maxInFlight: number, ackTimeoutMs: number) {
    this.topic = topic
    this.key = key
    this.named = named
    this.maxInFlight = maxInFlight
    this.ackTimeoutMs = ackTimeoutMs
  }

  /** Events held and not in flight (waiting, owed a redelivery, or delayed by nack). */
  get pending (): number {
    return this.waiting.length + this.redeliver.length + this.delayed.length
  }

  /** True while this subscription has deliveries with deadlines (in flight or delayed). */
  get timed (): boolean {
    return this.inFlight.size > 0 || this.delayed.length > 0
  }

  /** Adds a newly published event; delivers it at once when a slot is free and nothing is ahead of it. */
  enqueue (ev: StoredEvent): void {
    const sink = this.sink
    if (sink !== null && this.inFlight.size < this.maxInFlight && this.waiting.length === 0 &&
        this.redeliver.length === 0 && sink.canDeliver()) {
      const d = { ev, deliveries: 1, deadline: this.topic.clock.now() + this.ackTimeoutMs }
      this.inFlight.set(ev.key, d)
      this.topic.timed?.add(this)
      if (this.named) this.topic.observer?.delivered(this, d)
      sink.deliver(this.topic.name, ev, 1)
      return
    }
    this.waiting.queue(ev)
  }

  /** Recovery: an event delivered before the restart and not acked, owed a redelivery. */
  restoreDelivered (ev: StoredEvent, deliveries: number): void {
    this.redeliver.push({ ev, deliveries, deadline: 0 })
  }

  /** Recovery is done: put restored redeliveries and waiting events in delivery order. */
  restoreDone (): void {
    this.redeliver.sort(deliveryOrder)
    this.waiting.sortAll()
  }

  /** Recovery: an event never delivered. */
  restoreWaiting (ev: StoredEvent): void {
    this.waiting.queueUnsorted(ev) // any order: restoreDone() sorts (no quadratic inserts on a shuffled log)
  }

  /** Fills free in-flight slots: redeliveries first, then by priority. */
  pump (): void {
    const sink = this.sink
    if (sink === null) return
    const name = this.topic.name
    const now = this.topic.clock.now()
    let sent = 0
    while (this.inFlight.size < this.maxInFlight && sink.canDeliver()) {
      let d: Delivery
      if (this.redeliver.length > 0) {
        d = this.redeliver.shift()!
        d.deliveries++
        d.deadline = now + this.ackTimeoutMs
      } else if (this.waiting.length > 0) {
        d = { ev: this.waiting.dequeue()!, deliveries: 1, deadline: now + this.ackTimeoutMs }
      } else {
        break
      }
      sent++
      this.inFlight.set(d.ev.key, d)
      if (this.named) this.topic.observer?.delivered(this, d)
      sink.deliver(name, d.ev, d.deliveries)
    }
    if (sent > 0) this.topic.timed?.add(this)
  }

  /** Takes an in-flight delivery back (nack, timeout); the caller requeues it or dead-letters it. */
  takeBack (key: string): Delivery | undefined {
    const d = this.inFlight.get(key)
    if (d !== undefined) this.inFlight.delete(key)
    return d
  }

  /** In-flight deliveries whose deadline has passed, taken out of flight. */
  takeExpired (now: number): Delivery[] {
    let out: Delivery[] | null = null
    for (const d of this.inFlight.values()) {
      if (d.deadline <= now) (out ??= []).push(d)
    }
    if (out === null) return []
    for (const d of out) this.inFlight.delete(d.ev.key)
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
  touch (key: string, ms: number, now: number): boolean {
    const d = this.inFlight.get(key)
    if (d === undefined) return false
    d.deadline = now + ms
    return true
  }

  /**
   * Overflow policy drop-oldest: removes the lowest-priority, oldest event
   * that was never delivered. Returns it (already released), or undefined
   * when every pending event has been delivered before.
   */
  /** True when dropLowest() has something to drop. */
  canDropLowest (): boolean {
    return this.waiting.length > 0
  }

  dropLowest (): StoredEvent | undefined {
    const ev = this.waiting.dropLowest()
    if (ev === undefined) return undefined
    this.topic.release(ev)
    return ev
  }

  /** Acknowledges an in-flight event. False when that id is not in flight here. */
  ack (key: string): boolean {
    const d = this.inFlight.get(key)
    if (d === undefined) return false
    this.inFlight.delete(key)
    this.topic.release(d.ev)
    this.lastAckAt = this.topic.clock.now()
    return true
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

  /** Ends the subscription: every event it held is released. */
  destroy (): void {
    this.sink = null
    for (const d of this.inFlight.values()) this.topic.release(d.ev)
    this.inFlight.clear()
    for (const d of this.redeliver) this.topic.release(d.ev)
    this.redeliver = []
    for (const d of this.delayed) this.topic.release(d.ev)
    this.delayed = []
    while (this.waiting.length > 0) this.topic.release(this.waiting.dequeue()!)
  }

  /** Every unacked event in delivery order (in flight and owed first, then by priority). For logs and inspection. */
  snapshot (): Delivery[] {
    const out: Delivery[] = [...this.inFlight.values(), ...this.redeliver, ...this.delayed]
    out.sort(deliveryOrder)
    for (const ev of this.waiting.toArray()) out.push({ ev, deliveries: 0, deadline: 0 })
    return out
  }
}
