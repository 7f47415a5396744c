import type { Clock, Timer } from '../clock'
import type { Subscription } from '../store/subscription'
import type { Topic } from '../store/topic'
import type { Session } from './session'

/**
 * Producer flow control: a publisher whose `pub` lands on a topic where an
 * active subscriber is more than `publishHoldPending` events behind stops
 * having its further lines applied until that subscriber has caught up to
 * half the limit (`releaseAt`), or `publishHoldMaxMs` has passed. The gap
 * between the two marks lets a released publisher go for a burst: releasing
 * it as soon as the subscriber is back at the limit held and released it
 * once per ack (a timer and a reschedule per event: 7% of the broker's time
 * in a W2 profile). Its unread input then backs
 * up into its socket, so back-pressure reaches the producer instead of the
 * queue growing. Active means connected, draining its socket, and acking: a
 * subscriber that has not acked for publishHoldMaxMs (stuck or gone) holds
 * no one back, so one dead consumer can never stall the publishers.
 */
export class FlowControl {
  private readonly held = new Map<Session, { topic: Topic, timer: Timer }>()
  private readonly byTopic = new Map<Topic, Set<Session>>()
  /** Held publishers go again once no active subscriber has more than this many events waiting. */
  private readonly releaseAt: number

  constructor (
    private readonly holdPending: number,
    private readonly holdMaxMs: number,
    private readonly resume: (session: Session) => void,
    private readonly clock: Clock,
  ) {
    this.releaseAt = Math.floor(holdPending / 2)
  }

  /** After a pub: hold the publisher if the topic has an active subscriber too far behind. */
  afterPublish (session: Session, topic: Topic): void {
    if (this.laggard(topic, this.holdPending, session) === null || this.held.has(session)) return
    session.throttled = true
    const timer = this.clock.after(this.holdMaxMs, () => this.release(session))
    this.held.set(session, { topic, timer })
    let set = this.byTopic.get(topic)
    if (set === undefined) this.byTopic.set(topic, (set = new Set()))
    set.add(session)
  }

  /**
   * After an ack (or anything that shortens queues): release the topic's publishers once no one is past half the limit.
   * `now`: the clock's reading, when the caller has just read it (an ack).
   */
  progressed (topic: Topic, now?: number): void {
    if (this.held.size === 0) return // no one held (most acks): no lookup
    const set = this.byTopic.get(topic)
    if (set === undefined) return
    if (this.laggard(topic, this.releaseAt, null, now) !== null) return
    for (const s of [...set]) this.release(s) // a copy: a released publisher may be held again at once
  }

  /** The session is gone. */
  forget (session: Session): void {
    const h = this.held.get(session)
    if (h === undefined) return
    h.timer.cancel()
    this.held.delete(session)
    this.byTopic.get(h.topic)?.delete(session)
  }

  private release (session: Session): void {
    const h = this.held.get(session)
    if (h === undefined) return
    this.forget(session)
    session.throttled = false
    this.resume(session)
  }

  private laggard (topic: Topic, limit: number, publisher: Session | null, known?: number): Subscription | null {
    let now = known ?? -1 // else read once a subscriber is behind (after every pub: most find none)
    for (const s of topic.subscriptions.values()) {
      // An at-most-once subscriber never holds publishers back: past its bound it loses events instead.
      if (s.atMostOnce !== null || s.pending <= limit || s.sink === null || s.sink === publisher || s.sink.stalled()) continue
      if (now < 0) now = this.clock.now()
      if (now - s.lastAckAt >= this.holdMaxMs) continue // not acking: stuck or slow to start, holds no one back
      return s
    }
    return null
  }
}
