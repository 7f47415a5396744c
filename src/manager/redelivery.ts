import type { Timer } from '../clock'
import { deadLetterEvent } from '../store/event'
import { DLQ_SUFFIX } from '../store/names'
import type { Delivery, Subscription } from '../store/subscription'
import type { HandlerContext } from './context'
import { publishEvent } from './publish'

/** The name of the durable subscription every dead-letter topic keeps, so no dead letter vanishes. */
export const DEAD_LETTER_READER = 'dead-letters'

/**
 * Watches deadlines: unacked deliveries past their ack timeout and nacked
 * ones whose delay is over go back to their queue, marked with a delivery
 * count; an event already delivered maxDeliveries times moves to the
 * dead-letter topic `<topic>.dlq` instead.
 */
export class Redelivery {
  private readonly ctx: HandlerContext
  private timer: Timer | null = null

  constructor (ctx: HandlerContext) {
    this.ctx = ctx
  }

  start (): void {
    const clock = this.ctx.clock
    this.timer = clock.every(this.ctx.config.redeliveryCheckMs, () => this.sweep(clock.now()))
  }

  stop (): void {
    this.timer?.cancel()
    this.timer = null
  }

  /** Checks every subscription that has deadlines. */
  sweep (now: number): void {
    const timed = this.ctx.store.timed
    for (const sub of timed) {
      let changed = sub.releaseDue(now)
      for (const d of sub.takeExpired(now)) {
        this.giveBack(sub, d, 'ack timeout')
        changed = true
      }
      if (!sub.timed) timed.delete(sub)
      if (changed) sub.pump()
    }
  }

  /**
   * A delivery comes back unacked (timeout or nack): requeue it, or
   * dead-letter it past maxDeliveries. Returns true when it was dead-lettered.
   */
  giveBack (sub: Subscription, d: Delivery, reason: 'ack timeout' | 'nack', delayMs = 0): boolean {
    const ctx = this.ctx
    if (d.deliveries >= ctx.config.maxDeliveries && !sub.topic.name.endsWith(DLQ_SUFFIX) && this.deadLetter(sub, d, reason)) {
      return true
    }
    ctx.store.counters.redelivered++
    if (delayMs > 0) sub.delay(d, ctx.clock.now() + delayMs)
    else sub.requeue(d)
    return false
  }

  /** Moves an event to the dead-letter topic; false (nothing changed) when that topic refuses it. */
  deadLetter (sub: Subscription, d: Delivery, reason: string): boolean {
    const ctx = this.ctx
    const source = sub.topic
    const dlqName = source.name + DLQ_SUFFIX
    let dlq = ctx.store.topic(dlqName)
    if (dlq === undefined) {
      dlq = ctx.store.ensureTopic(dlqName)
      const reader = dlq.subscribe(DEAD_LETTER_READER, true, ctx.config.maxInFlight, ctx.config.ackTimeoutMs)
      ctx.durability.subscribed(reader)
    }
    try {
      const dead = deadLetterEvent(d.ev, { topic: source.name, subscriber: sub.named ? sub.key : null, id: d.ev.id, reason, deliveries: d.deliveries, at: ctx.clock.now() })
      // Publish first: if the dead-letter topic refuses it, nothing has changed and the event stays queued.
      publishEvent(ctx, dlq, dead)
    } catch (err) {
      ctx.store.counters.deadLetterBlocked++
      ctx.log.error({ err, topic: source.name, id: d.ev.id }, 'could not dead-letter an event; it stays in its queue')
      return false
    }
    source.owedStale = true
    ctx.durability.acked(sub, d.ev.offset)
    ctx.store.counters.deadLettered++
    ctx.log.warn({ topic: source.name, subscriber: sub.key, id: d.ev.id, reason, deliveries: d.deliveries }, 'event moved to dead-letter topic')
    return true
  }
}
