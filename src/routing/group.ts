import type { StoredEvent } from '../store/event'
import type { DeliverySink, Subscription } from '../store/subscription'

/** The key of a consumer group's subscription: `group:<name>` (client names cannot hold `:`, so it never meets one). */
export const GROUP_PREFIX = 'group:'

/** A group name: what a client name may be, at most 64 characters. */
export const GROUP_NAME = /^[A-Za-z0-9._-]{1,64}$/

/** The group name of a subscription key, or null when the subscription is not a group's. */
export function groupOf (key: string): string | null {
  return key.startsWith(GROUP_PREFIX) ? key.slice(GROUP_PREFIX.length) : null
}

/** One connection in a group. */
interface Member {
  sink: DeliverySink
  /** Its own in-flight cap. */
  maxInFlight: number
  /** Keys of the events in flight to it. */
  readonly held: Set<string>
  /** A label for `stats`: the client name, or `#<connection id>`. */
  label: string
  /** The user it joined as (a connection logs in once), or null: `revoke` ends that user's memberships. */
  user: string | null
}

/** What `stats <topic>` shows of a member. */
export interface MemberInfo {
  member: string
  inFlight: number
  maxInFlight: number
}

/**
 * A consumer group: the `DeliverySink` of the group's one durable
 * subscription (`group:<name>`, a named subscription like any other: its
 * queue, deliveries, acks and dead letters are stored and recovered as
 * today). It hands each delivery to exactly one member with free in-flight
 * capacity, in turn, and remembers which, so only that member may ack, nack
 * or touch it. A member that leaves gives back what it held: those events go
 * to the front of the group's queue, delivered again with `deliveries` + 1.
 * With no member the subscription is detached and keeps its queue.
 */
export class GroupSink implements DeliverySink {
  readonly name: string
  private readonly members: Member[] = []
  private readonly holder = new Map<string, Member>()
  private turn = 0

  constructor (readonly sub: Subscription) {
    this.name = groupOf(sub.key) ?? sub.key
  }

  /** The group of a subscription, when it is one and has a member now. */
  static of (sub: Subscription): GroupSink | null {
    return sub.sink instanceof GroupSink ? sub.sink : null
  }

  get size (): number {
    return this.members.length
  }

  has (sink: DeliverySink): boolean {
    return this.members.some(m => m.sink === sink)
  }

  /** Adds a member with its cap (attaching the subscription on the first one). */
  join (sink: DeliverySink, maxInFlight: number, label: string, user: string | null = null): void {
    this.members.push({ sink, maxInFlight, held: new Set(), label, user })
    this.resize()
    if (this.sub.sink !== this) this.sub.attach(this)
  }

  /** A member leaves: what it held goes back to the group's queue; the last one out detaches the subscription. */
  leave (sink: DeliverySink): void {
    const i = this.members.findIndex(m => m.sink === sink)
    if (i < 0) return
    const m = this.members[i]
    this.members.splice(i, 1)
    for (const key of [...m.held]) {
      const d = this.sub.takeBack(key) // settled() forgets it
      if (d !== undefined) this.sub.requeue(d)
    }
    if (this.members.length === 0) {
      this.sub.detach()
      return
    }
    this.resize()
    this.sub.pump()
  }

  /**
   * `user` lost the right to read the topic (`revoke`): each of its members
   * leaves, giving back what it held, and its connection forgets the
   * subscription quietly, as with any subscription a revoke ends. The number
   * of members that left.
   */
  revoke (user: string): number {
    const gone = this.members.filter(m => m.user === user)
    for (const m of gone) {
      this.leave(m.sink)
      m.sink.ended?.(this.sub, 'revoked')
    }
    return gone.length
  }

  /** The subscription's cap is the members' total: each member's own cap is kept here. */
  private resize (): void {
    let n = 0
    for (const m of this.members) n += m.maxInFlight
    this.sub.maxInFlight = Math.max(1, n)
  }

  /** The member that gets the next delivery: the next one in turn with a free slot whose client is draining; null when none. */
  private pick (): Member | null {
    const n = this.members.length
    for (let i = 0; i < n; i++) {
      const m = this.members[(this.turn + i) % n]
      if (m.held.size < m.maxInFlight && m.sink.canDeliver()) {
        this.turn = (this.turn + i + 1) % n
        return m
      }
    }
    return null
  }

  canDeliver (): boolean {
    for (const m of this.members) if (m.held.size < m.maxInFlight && m.sink.canDeliver()) return true
    return false
  }

  stalled (): boolean {
    for (const m of this.members) if (!m.sink.stalled()) return false
    return true
  }

  deliver (topic: string, ev: StoredEvent, deliveries: number): void {
    const m = this.pick()
    if (m === null) throw new Error('group delivery without a member that can take it') // canDeliver() said one could
    m.held.add(ev.key)
    this.holder.set(ev.key, m)
    m.sink.deliver(topic, ev, deliveries)
  }

  settled (key: string): void {
    const m = this.holder.get(key)
    if (m === undefined) return
    this.holder.delete(key)
    m.held.delete(key)
  }

  heldBy (key: string, member: DeliverySink): boolean {
    return this.holder.get(key)?.sink === member
  }

  /** The group ended (`unsub … forget`, its topic deleted): every member is told, as a subscriber whose subscription ended. */
  ended (sub: Subscription, reason: string): void {
    const members = this.members.splice(0)
    this.holder.clear()
    for (const m of members) m.sink.ended?.(sub, reason === 'unsub' ? 'forgotten' : reason)
  }

  /** The members, for `stats`. */
  info (): MemberInfo[] {
    return this.members.map(m => ({ member: m.label, inFlight: m.held.size, maxInFlight: m.maxInFlight }))
  }
}
