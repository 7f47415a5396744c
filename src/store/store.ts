import { systemClock, type Clock } from '../clock'
import type { Subscription } from './subscription'
import { Topic, type StoreObserver } from './topic'

/** The shared store: every topic, its subscriptions and their queues. Knows nothing of sockets or files. */
export class Store {
  /** The broker's clock: delivery deadlines and ack times come from it. */
  readonly clock: Clock
  readonly topics = new Map<string, Topic>()
  /** Set by the durability layer; null when nothing is persisted. */
  observer: StoreObserver | null = null
  /** Subscriptions with deliveries that have deadlines; the redelivery sweep walks only these. */
  readonly timed = new Set<Subscription>()
  /** Bytes of event JSON held by some subscription: the figure maxPendingBytes limits. */
  pendingBytes = 0
  /** Running totals for `stats`. */
  /** deadLetterBlocked: dead letters refused by a full dead-letter topic, left in their queue. */
  readonly counters = { redelivered: 0, deadLettered: 0, deadLetterBlocked: 0, dropped: 0 }

  constructor (clock: Clock = systemClock) {
    this.clock = clock
  }

  topic (name: string): Topic | undefined {
    return this.topics.get(name)
  }

  /** Returns the topic, creating it if needed (and telling the observer unless this is recovery). */
  ensureTopic (name: string, notify = true): Topic {
    let t = this.topics.get(name)
    if (t === undefined) {
      t = new Topic(name, this)
      this.topics.set(name, t)
      if (notify) this.observer?.topicCreated(t)
    }
    return t
  }

  /** Totals for tests and `stats`. */
  counts (): { topics: number, subscriptions: number, pending: number, inFlight: number } {
    let subscriptions = 0
    let pending = 0
    let inFlight = 0
    for (const t of this.topics.values()) {
      for (const s of t.subscriptions.values()) {
        subscriptions++
        pending += s.pending
        inFlight += s.inFlight.size
      }
    }
    return { topics: this.topics.size, subscriptions, pending, inFlight }
  }
}
