import type { Session } from '../manager/session'
import type { LocalWildcard } from './wildcards'

/**
 * One subscription of a client connected to this node. Its state lives in
 * Redis (the subscription `key` of its topic); this is what the node needs
 * to deliver to it: the session, and whether a pull is under way.
 */
export class LocalSubscription {
  /** A pull script is running for it: a further pull request waits for it (`again`). */
  pulling = false
  again = false
  /** Removed from this node (unsub, disconnect, topic deleted): nothing more is delivered to it. */
  ended = false
  /** The wildcard subscription it is a member of (its pulls share that one's cap), or null. */
  wildcard: LocalWildcard | null = null

  constructor (
    readonly session: Session,
    readonly topic: string,
    /** Its subscription key in Redis (keys.ts subKey). */
    readonly key: string,
    /** The consumer id its deliveries are held by (keys.ts consumerId). */
    readonly consumer: string,
    /** A durable name's or a group's subscription: it outlives this connection. */
    readonly durable: boolean,
    /** The consumer group it is a member of, or null. */
    readonly group: string | null = null,
    /** A group member's own in-flight cap (null: the subscription's). */
    readonly cap: number | null = null,
    /** At most once (`ack=none`): pulled events are written and forgotten. */
    readonly atMostOnce = false,
  ) {}
}

/** This node's subscriptions, by session and by topic (bounded by connections × maxSubscriptionsPerConnection). */
export class LocalSubscriptions {
  private readonly bySession = new Map<Session, Map<string, LocalSubscription>>()
  private readonly byTopic = new Map<string, Set<LocalSubscription>>()

  get (session: Session, topic: string): LocalSubscription | undefined {
    return this.bySession.get(session)?.get(topic)
  }

  /** The session's subscriptions (empty when none). */
  ofSession (session: Session): readonly LocalSubscription[] {
    const m = this.bySession.get(session)
    return m === undefined ? [] : [...m.values()]
  }

  /** How many subscriptions the session holds. */
  countOf (session: Session): number {
    return this.bySession.get(session)?.size ?? 0
  }

  /** The local subscriptions of a topic (empty when none). */
  ofTopic (topic: string): readonly LocalSubscription[] {
    const s = this.byTopic.get(topic)
    return s === undefined ? [] : [...s]
  }

  /** Whether any local client subscribes to the topic. */
  hasTopic (topic: string): boolean {
    return this.byTopic.has(topic)
  }

  /** Every local subscription. */
  all (): LocalSubscription[] {
    const out: LocalSubscription[] = []
    for (const s of this.byTopic.values()) for (const sub of s) out.push(sub)
    return out
  }

  add (sub: LocalSubscription): void {
    let m = this.bySession.get(sub.session)
    if (m === undefined) this.bySession.set(sub.session, m = new Map())
    m.set(sub.topic, sub)
    sub.session.clusterSubscriptions = m.size
    let s = this.byTopic.get(sub.topic)
    if (s === undefined) this.byTopic.set(sub.topic, s = new Set())
    s.add(sub)
  }

  /** Forgets it; true when it was the topic's last local subscription. */
  remove (sub: LocalSubscription): boolean {
    sub.ended = true
    const m = this.bySession.get(sub.session)
    if (m?.get(sub.topic) === sub) {
      m.delete(sub.topic)
      sub.session.clusterSubscriptions = m.size
      if (m.size === 0) this.bySession.delete(sub.session)
    }
    const s = this.byTopic.get(sub.topic)
    if (s === undefined) return false
    s.delete(sub)
    if (s.size > 0) return false
    this.byTopic.delete(sub.topic)
    return true
  }
}
