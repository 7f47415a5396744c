import { systemClock, type Clock } from '../clock'
import { ExchangeTable } from '../routing/exchanges'
import { EventCache } from './eventCache'
import type { Subscription } from './subscription'
import { Topic, type StoreObserver } from './topic'

/** Default size of the hot-event cache when a store is made without config (unit tests). */
const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024

/**
 * The shared store: every topic, its subscriptions and what they are owed.
 * Knows nothing of sockets; the durability layer gives each topic its
 * stored events (`Topic.log`).
 */
export class Store {
  /** The broker's clock: delivery deadlines and ack times come from it. */
  readonly clock: Clock
  readonly topics = new Map<string, Topic>()
  /** Told of every topic created (wildcard subscriptions add the topics they match). */
  readonly topicWatchers = new Set<(topic: Topic) => void>()
  /** Exchanges and their bindings (`exchange`, `bind`, `route`): durable, journaled by the durability layer. */
  readonly exchanges = new ExchangeTable()
  /** Set by the durability layer; null when nothing is persisted. */
  observer: StoreObserver | null = null
  /** Subscriptions with deliveries that have deadlines; the redelivery sweep walks only these. */
  readonly timed = new Set<Subscription>()
  /** Recently stored or read events of every topic, bounded by bytes (eventCacheBytes). */
  readonly cache: EventCache
  /** Running totals for `stats`. */
  /** deadLetterBlocked: dead letters refused by a full dead-letter topic, left in their queue. */
  readonly counters = { redelivered: 0, deadLettered: 0, deadLetterBlocked: 0, dropped: 0, atMostOnceDropped: 0 }
  /**
   * Bytes of events some subscription still holds, over every topic: the
   * figure maxPendingBytes limits. Per topic, the bytes from its lowest owed
   * offset to its end (Topic.owedBytes), counted as events are published and
   * recomputed for topics whose subscribers acked since (refreshPendingBytes).
   */
  pendingBytes = 0

  /** Whether a topic of this name keeps no events for replay (its retention is 0: see Topic.keepsNothing). */
  readonly keepsNothing: (topic: string) => boolean

  constructor (clock: Clock = systemClock, cacheBytes = DEFAULT_CACHE_BYTES, keepsNothing: (topic: string) => boolean = () => false) {
    this.clock = clock
    this.cache = new EventCache(cacheBytes)
    this.keepsNothing = keepsNothing
  }

  topic (name: string): Topic | undefined {
    return this.topics.get(name)
  }

  /** The topic ensureTopic returned last, and its name: publishers send many events in a row to one topic. */
  private lastTopic: Topic | null = null
  private lastName = ''

  /** Returns the topic, creating it if needed (and telling the observer unless this is recovery). */
  ensureTopic (name: string, notify = true): Topic {
    // A string compare of the name the last call had: cheaper than hashing a new string for the map.
    if (name === this.lastName && this.lastTopic !== null && !this.lastTopic.deleted) return this.lastTopic
    let t = this.topics.get(name)
    if (t === undefined) {
      t = new Topic(name, this)
      this.topics.set(name, t)
      if (notify) this.observer?.topicCreated(t)
      for (const w of this.topicWatchers) w(t)
    }
    this.lastTopic = t
    this.lastName = name
    return t
  }

  /**
   * Deletes a topic: every subscription ends (its sink is told, reason
   * `deleted`), the topic leaves the store; a later publish makes a new topic
   * of that name from offset 1. The observer removes its files. Returns the
   * deleted topic, or undefined when there was none.
   */
  deleteTopic (name: string): Topic | undefined {
    const t = this.topics.get(name)
    if (t === undefined) return undefined
    this.topics.delete(name)
    if (this.lastTopic === t) this.lastTopic = null
    t.wipe()
    this.observer?.topicDeleted?.(t)
    return t
  }


  /** Recomputes the owed bytes of the topics whose subscribers acked or left since the last time. */
  refreshPendingBytes (): void {
    for (const t of this.topics.values()) if (t.owedStale) t.refreshOwed()
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
