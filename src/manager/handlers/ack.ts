import * as arg from '../../commands/args'
import { defineCommand, type FieldsOf } from '../../commands/spec'
import { fail } from '../../errors'
import type { HandlerContext } from '../context'
import type { Session } from '../session'
import { notSubscribed } from './unsub'

const args = [arg.topic(), arg.eventId()] as const

/** `ack <topic> <event-id>`: frees the in-flight slot and forgets the event for this subscriber. */
export const ack = defineCommand({ name: 'ack', words: ['ack', 'ACKNOWLEDGE'], args, access: 'topic-visible', handler })

function handler (ctx: HandlerContext, session: Session, { topic: name, id }: FieldsOf<typeof args>): void {
  const subscription = session.subscriptions.get(name) ?? notSubscribed(ctx, name)
  const d = subscription.ack(id, session)
  if (d === undefined) fail('NOT_IN_FLIGHT', { id, topic: name })
  ctx.durability.reply(session, `OK acked ${id} on ${name}`, ctx.durability.acked(subscription, d.ev.offset))
  subscription.pump()
  subscription.checkRangeDone()
  ctx.flow.progressed(subscription.topic)
  ctx.stats.acked++
}
