import * as arg from '../../commands/args'
import { defineCommand, type FieldsOf } from '../../commands/spec'
import { fail } from '../../errors'
import type { HandlerContext } from '../context'
import type { Session } from '../session'
import { notSubscribed } from './unsub'

const args = [arg.topic(), arg.eventId(), arg.optional(arg.millis('delayMs', 'delay-ms', 'delay', 0))] as const

/**
 * `nack <topic> <event-id> [delay-ms]`: gives an in-flight event back, to be
 * delivered again at once or after the delay (or dead-lettered once it has
 * been delivered maxDeliveries times).
 */
export const nack = defineCommand({ name: 'nack', words: ['nack', 'NACK'], args, access: 'topic-visible', handler })

function handler (ctx: HandlerContext, session: Session, { topic: name, id, delayMs }: FieldsOf<typeof args>): void {
  const delay = delayMs ?? 0
  const subscription = session.subscriptions.get(name) ?? notSubscribed(ctx, name)
  const d = subscription.takeBack(id, session)
  if (d === undefined) fail('NOT_IN_FLIGHT', { id, topic: name })
  const dead = ctx.redelivery.giveBack(subscription, d, 'nack', delay)
  session.reply(dead
    ? `OK nacked ${id} on ${name}: moved to ${name}.dlq after ${d.deliveries} deliveries`
    : `OK nacked ${id} on ${name}${delay > 0 ? ` (again in ${delay} ms)` : ''}`)
  subscription.pump()
}
