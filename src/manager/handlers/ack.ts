import * as arg from '../../commands/args'
import { defineCommand, type FieldsOf } from '../../commands/spec'
import { fail } from '../../errors'
import type { Subscription } from '../../store/subscription'
import type { HandlerContext } from '../context'
import type { Session } from '../session'
import { notSubscribed } from './unsub'
import { ackedReply } from '../replyText'

const args = [arg.topic(), arg.eventId(), arg.moreEventIds()] as const

/**
 * `ack <topic> <event-id> [event-id ...]`: frees the in-flight slots and forgets
 * the events for this subscriber. Several ids are all or nothing: every one
 * must be in flight and listed once, else nothing is acked.
 */
export const ack = defineCommand({ name: 'ack', words: ['ack', 'ACKNOWLEDGE'], args, access: 'topic-visible', borrowsLine: true, handler })

function handler (ctx: HandlerContext, session: Session, { topic: name, id, more }: FieldsOf<typeof args>): void {
  const subscription = session.subscriptions.get(name) ?? notSubscribed(ctx, name)
  if (more !== undefined) {
    ackMany(ctx, session, subscription, id, more)
    return
  }
  // One clock read for the ack time, the refill's deadlines and flow control's look at the topic.
  const now = ctx.clock.now()
  const d = subscription.ack(id, session, now)
  if (d === undefined) fail('NOT_IN_FLIGHT', { id, topic: name })
  ctx.durability.reply(session, ackedReply(id, subscription.topic.name), ctx.durability.acked(subscription, d.ev.offset))
  ctx.stats.acked++
  settled(ctx, subscription, now)
}

/** A batch: checked whole first (every id in flight for this connection, none twice), then acked; one reply with the count. */
function ackMany (ctx: HandlerContext, session: Session, subscription: Subscription, first: string, more: readonly string[]): void {
  const name = subscription.topic.name
  const ids = [first, ...more]
  const seen = new Set<string>()
  for (const id of ids) {
    if (seen.has(id)) fail('BAD_ARGS.repeatedId', { id })
    seen.add(id)
    // In a consumer group only the member an event went to may ack it.
    if (!subscription.inFlight.has(id) || !subscription.heldBy(id, session)) fail('NOT_IN_FLIGHT.batch', { id, topic: name })
  }
  let ticket = 0
  const now = ctx.clock.now()
  for (const id of ids) {
    const d = subscription.ack(id, session, now)!
    const t = ctx.durability.acked(subscription, d.ev.offset)
    if (t > ticket) ticket = t
  }
  ctx.durability.reply(session, ackedReply(ids.length, subscription.topic.name), ticket)
  ctx.stats.acked += ids.length
  settled(ctx, subscription, now)
}

/** After acks at `now`: fill the freed slots, end a finished range, let throttled publishers go. */
function settled (ctx: HandlerContext, subscription: Subscription, now: number): void {
  subscription.pump(now)
  subscription.checkRangeDone()
  ctx.flow.progressed(subscription.topic, now)
}
