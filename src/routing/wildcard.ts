import type { Store } from '../store/store'
import type { SharedCap, Subscription } from '../store/subscription'
import type { Topic } from '../store/topic'
import type { Session } from '../manager/session'
import { TopicPattern } from './topicPattern'

/** What a wildcard subscription needs to know of the subscriber. */
export interface WildcardOptions {
  session: Session
  maxInFlight: number
  ackTimeoutMs: number
  /** Whether the subscriber may read this topic (the subscribe ACL, per concrete topic). */
  mayRead: (topic: Topic) => boolean
  /** The subscriber's user (null: anonymous): a member of a private topic is theirs, so `revoke` ends it. */
  user: string | null
  /** Where each existing topic's subscription starts (`from=`); later topics start at their beginning. */
  startOf: (topic: Topic) => number
}

/**
 * `sub orders.*` / `sub orders.#`: one subscription per matching topic, those
 * that exist and those created later, sharing one in-flight cap. Each member
 * is an ordinary anonymous Subscription in the session's table under its
 * concrete topic, so EVENT names the topic and `ack <topic> <id>`, `nack`
 * and `touch` work unchanged. Topics the subscriber may not read, and topics
 * it already subscribes to directly, are left out. Ends with `unsub <pattern>`
 * or the connection; a member ends alone with `unsub <topic>`, `revoke` or a
 * deleted topic (a topic made again later joins again).
 */
export class WildcardSubscription implements SharedCap {
  readonly text: string
  readonly members = new Map<string, Subscription>()
  private readonly pattern: TopicPattern
  private readonly watch: (topic: Topic) => void
  private turn = 0
  private pumping = false

  constructor (private readonly store: Store, text: string, private readonly o: WildcardOptions) {
    this.text = text
    this.pattern = new TopicPattern(text)
    this.watch = (topic) => { if (this.add(topic, topic.nextOffset) !== null) this.pump() }
  }

  /** Joins every matching topic there is, and watches for new ones. */
  open (): void {
    for (const topic of this.store.topics.values()) this.add(topic, this.o.startOf(topic))
    this.store.topicWatchers.add(this.watch)
  }

  /** Adds a matching topic's member; null when it does not match or is left out. */
  add (topic: Topic, start: number): Subscription | null {
    const name = topic.name
    if (!this.pattern.matches(name) || this.o.session.subscriptions.has(name) || !this.o.mayRead(topic)) return null
    const key = `#${this.o.session.id}`
    if (topic.subscriptions.has(key)) return null
    const sub = topic.subscribe(key, false, this.o.maxInFlight, this.o.ackTimeoutMs, start)
    if (name.charCodeAt(0) === 0x7e) sub.user = this.o.user // private: revoke ends it like any subscription of that user
    sub.shared = this
    this.members.set(name, sub)
    this.o.session.subscriptions.set(name, sub)
    sub.attach(this.o.session)
    return sub
  }

  /** In flight over every member still subscribed. */
  inFlight (): number {
    let n = 0
    for (const [name, m] of this.members) {
      if (m.ended) this.members.delete(name)
      else n += m.inFlight.size
    }
    return n
  }

  free (): number {
    return this.o.maxInFlight - this.inFlight()
  }

  /** Fills the shared slots, starting with a different member each time so no topic starves the others. */
  pump (): void {
    if (this.pumping) return // a member's pump may call back here
    this.pumping = true
    try {
      const list = [...this.members.values()]
      const n = list.length
      for (let i = 0; i < n && this.free() > 0; i++) {
        const m = list[(this.turn + i) % n]
        if (!m.ended) m.pumpOwn()
      }
      this.turn = n === 0 ? 0 : (this.turn + 1) % n
    } finally {
      this.pumping = false
    }
  }

  /** Events held by the members (pending and in flight). */
  held (): number {
    let n = 0
    for (const m of this.members.values()) if (!m.ended) n += m.pending + m.inFlight.size
    return n
  }

  /** Ends every member (reason as for Topic.unsubscribe) and stops watching. */
  close (reason: string): void {
    this.store.topicWatchers.delete(this.watch)
    for (const m of this.members.values()) m.topic.unsubscribe(m, reason)
    this.members.clear()
  }
}

/** Each session's wildcard subscriptions, by pattern (a session is a connection; nothing here outlives it). */
const bySession = new WeakMap<Session, Map<string, WildcardSubscription>>()

/** The wildcard subscriptions of a session (created empty on first use). */
export function wildcardsOf (session: Session): Map<string, WildcardSubscription> {
  let m = bySession.get(session)
  if (m === undefined) {
    m = new Map()
    bySession.set(session, m)
  }
  return m
}

/** The session is gone: its wildcard subscriptions end. */
export function closeWildcards (session: Session): void {
  const m = bySession.get(session)
  if (m === undefined) return
  for (const w of m.values()) w.close('disconnect')
  bySession.delete(session)
}
