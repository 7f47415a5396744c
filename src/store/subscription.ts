import PriorityQueue from 'js-priority-queue'
import type { StoredEvent } from './event'
import type { Topic } from './topic'

/** Where a subscription's deliveries go. Implemented by a connection; the store never sees sockets. */
export interface DeliverySink {
  /** False while the client is not draining its socket: deliveries wait in the queue. */
  canDeliver: () => boolean
  deliver: (topic: string, ev: StoredEvent, deliveries: number) => void
}

/** An event handed to the subscriber and not yet acknowledged. */
export interface Delivery {
  ev: StoredEvent
  /** How many times it has been delivered, this time included. */
  deliveries: number
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
  sink: DeliverySink | null = null
  readonly inFlight = new Map<string, Delivery>()
  private readonly waiting = new PriorityQueue<StoredEvent>({ comparator: byPriorityThenSeq })
  /** Delivered before and not acked (e.g. the subscriber went away): these go out first. */
  private redeliver: Delivery[] = []

  constructor (topic: Topic, key: string, named: boolean, maxInFlight: number) {
    this.topic = topic
    this.key = key
    this.named = named
    this.maxInFlight = maxInFlight
  }

  /** Events held and not delivered (waiting, plus owed a redelivery). */
  get pending (): number {
    return this.waiting.length + this.redeliver.length
  }

  /** Adds a newly published event; delivers it at once when a slot is free and nothing is ahead of it. */
  enqueue (ev: StoredEvent): void {
    const sink = this.sink
    if (sink !== null && this.inFlight.size < this.maxInFlight && this.waiting.length === 0 &&
        this.redeliver.length === 0 && sink.canDeliver()) {
      const d = { ev, deliveries: 1 }
      this.inFlight.set(ev.key, d)
      if (this.named) this.topic.observer?.delivered(this, d)
      sink.deliver(this.topic.name, ev, 1)
      return
    }
    this.waiting.queue(ev)
  }

  /** Recovery: an event delivered before the restart and not acked, owed a redelivery. */
  restoreDelivered (ev: StoredEvent, deliveries: number): void {
    this.redeliver.push({ ev, deliveries })
  }

  /** Recovery is done: put restored redeliveries in delivery order. */
  restoreDone (): void {
    this.redeliver.sort(deliveryOrder)
  }

  /** Recovery: an event never delivered. */
  restoreWaiting (ev: StoredEvent): void {
    this.waiting.queue(ev)
  }

  /** Fills free in-flight slots: redeliveries first, then by priority. */
  pump (): void {
    const sink = this.sink
    if (sink === null) return
    const name = this.topic.name
    while (this.inFlight.size < this.maxInFlight && sink.canDeliver()) {
      let d: Delivery
      if (this.redeliver.length > 0) {
        d = this.redeliver.shift()!
        d.deliveries++
      } else if (this.waiting.length > 0) {
        d = { ev: this.waiting.dequeue(), deliveries: 1 }
      } else {
        return
      }
      this.inFlight.set(d.ev.key, d)
      if (this.named) this.topic.observer?.delivered(this, d)
      sink.deliver(name, d.ev, d.deliveries)
    }
  }

  /** Acknowledges an in-flight event. False when that id is not in flight here. */
  ack (key: string): boolean {
    const d = this.inFlight.get(key)
    if (d === undefined) return false
    this.inFlight.delete(key)
    this.topic.release(d.ev)
    return true
  }

  attach (sink: DeliverySink): void {
    this.sink = sink
  }

  /** The subscriber went away but the subscription lives on: in-flight events are owed a redelivery. */
  detach (): void {
    this.sink = null
    if (this.inFlight.size === 0) return
    for (const d of this.inFlight.values()) this.redeliver.push(d)
    this.inFlight.clear()
    this.redeliver.sort(deliveryOrder)
  }

  /** Ends the subscription: every event it held is released. */
  destroy (): void {
    this.sink = null
    for (const d of this.inFlight.values()) this.topic.release(d.ev)
    this.inFlight.clear()
    for (const d of this.redeliver) this.topic.release(d.ev)
    this.redeliver = []
    while (this.waiting.length > 0) this.topic.release(this.waiting.dequeue())
  }

  /** Every unacked event in delivery order (in flight and owed first, then by priority). For logs and inspection. */
  snapshot (): Delivery[] {
    const out: Delivery[] = [...this.inFlight.values(), ...this.redeliver]
    out.sort(deliveryOrder)
    const waiting = this.waitingEvents()
    waiting.sort(byPriorityThenSeq)
    for (const ev of waiting) out.push({ ev, deliveries: 0 })
    return out
  }

  private waitingEvents (): StoredEvent[] {
    // js-priority-queue has no iterator; its binary-heap strategy keeps the items in priv.data.
    const data = (this.waiting as unknown as { priv: { data: StoredEvent[] } }).priv.data
    return data.slice()
  }
}
