import { systemClock, type Clock } from '../clock'
import type { StoredEvent } from './event'
import type { Delivery, Subscription } from './subscription'

/** Told of store changes that no command handler sees (deliveries happen inside the store). */
export interface StoreObserver {
  topicCreated: (topic: Topic) => void
  /** A named subscription handed an event to its subscriber. */
  delivered: (sub: Subscription, d: Delivery) => void
}

/** What a grant on a private topic allows its user (`grant`/`revoke`). */
export interface GrantRights {
  pub: boolean
  sub: boolean
}

/** A topic: its subscriptions, the events some subscription still holds, and (private topics) its grants. */
export class Topic {
  readonly name: string
  readonly subscriptions = new Map<string, Subscription>()
  /** Private topics: the rights the owner granted, by user. Durable like the subscriptions (journal and topic log). */
  readonly grants = new Map<string, GrantRights>()
  /** Events held by at least one subscription, by id key: ids are unique among these. */
  readonly live = new Map<string, StoredEvent>()
  /** Publish counter; orders equal priorities. */
  seq = 0
  /** Next id the broker assigns to an event published without one. */
  nextAutoId = 1
  observer: StoreObserver | null
  /** The store's clock (the system clock for a topic outside a store, as in unit tests). */
  readonly clock: Clock
  /** The store's set of subscriptions with deadlines to watch (ack timeouts, nack delays). */
  readonly timed: Set<Subscription> | null
  /** The store's memory account: bytes of events some subscription holds. */
  private readonly account: { pendingBytes: number } | null

  constructor (name: string, store: { observer: StoreObserver | null, timed: Set<Subscription>, pendingBytes: number, clock: Clock } | null = null) {
    this.name = name
    this.observer = store?.observer ?? null
    this.timed = store?.timed ?? null
    this.account = store
    this.clock = store?.clock ?? systemClock
  }

  /** String form of the id assignId() returned last (saves converting it again). */
  assignedKey = ''

  /** Picks the next broker-assigned id that no held event uses. */
  assignId (): number {
    let key = String(this.nextAutoId)
    while (this.live.has(key)) key = String(++this.nextAutoId)
    this.assignedKey = key
    return this.nextAutoId++
  }

  /** Keeps broker-assigned ids clear of numeric ids publishers chose themselves. */
  noteId (key: string): void {
    if (key.length < 16 && /^\d+$/.test(key)) {
      const n = Number(key)
      if (n >= this.nextAutoId) this.nextAutoId = n + 1
    }
  }

  /** Fans an event out to every current subscription. Returns how many took it. */
  publish (ev: StoredEvent): number {
    const n = this.subscriptions.size
    if (n === 0) return 0
    ev.refs = n
    this.live.set(ev.key, ev)
    if (this.account !== null) this.account.pendingBytes += ev.json.length
    for (const sub of this.subscriptions.values()) sub.enqueue(ev)
    return n
  }

  release (ev: StoredEvent): void {
    if (--ev.refs === 0) {
      this.live.delete(ev.key)
      if (this.account !== null) this.account.pendingBytes -= ev.json.length
    }
  }

  /** Recovery: an event held again after a restart (refs already counted by the caller). */
  restoreLive (ev: StoredEvent): void {
    if (this.live.has(ev.key)) return
    this.live.set(ev.key, ev)
    if (this.account !== null) this.account.pendingBytes += ev.json.length
  }
}
