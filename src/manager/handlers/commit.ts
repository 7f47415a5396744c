import * as arg from '../../commands/args'
import { defineCommand, type FieldsOf } from '../../commands/spec'
import type { HandlerContext } from '../context'
import type { Session } from '../session'
import { notSubscribed } from './unsub'

const args = [arg.topic(), arg.offset()] as const

/**
 * `commit <topic> <offset>`: a batch ack. Acks every event delivered to this
 * connection's subscription and not acked (in flight, owed a redelivery,
 * delayed by nack) whose offset is at most `<offset>`; events never
 * delivered are not acked. Confirmed once its C record is journaled (named).
 */
export const commit = defineCommand({ name: 'commit', words: ['commit'], args, access: 'topic-visible', handler })

function handler (ctx: HandlerContext, session: Session, { topic: name, offset }: FieldsOf<typeof args>): void {
  const subscription = session.subscriptions.get(name) ?? notSubscribed(ctx, name)
  const n = subscription.commit(offset)
  const ticket = n > 0 ? ctx.durability.committed(subscription, offset) : 0
  ctx.durability.reply(session, `OK committed ${name} up to ${offset} (${n} acked)`, ticket)
  ctx.stats.acked += n
  if (n === 0) return
  subscription.pump()
  subscription.checkRangeDone()
  ctx.flow.progressed(subscription.topic)
}
