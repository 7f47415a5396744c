import * as arg from '../../commands/args'
import { defineCommand, type FieldsOf } from '../../commands/spec'
import { fail } from '../../errors'
import type { HandlerContext } from '../context'
import type { Session } from '../session'
import { notSubscribed } from './unsub'

const args = [arg.topic(), arg.eventId(), arg.optional(arg.millis('extendMs', 'extend-ms', 'extension', 1))] as const

/** `touch <topic> <event-id> [extend-ms]`: a long job asks for more time before its event is redelivered. */
export const touch = defineCommand({ name: 'touch', words: ['touch', 'TOUCH'], args, access: 'topic-visible', handler })

function handler (ctx: HandlerContext, session: Session, { topic: name, id, extendMs }: FieldsOf<typeof args>): void {
  const subscription = session.subscriptions.get(name) ?? notSubscribed(ctx, name)
  const ms = extendMs ?? subscription.ackTimeoutMs
  if (!subscription.touch(id, ms, ctx.clock.now(), session)) fail('NOT_IN_FLIGHT', { id, topic: name })
  session.reply(`OK touched ${id} on ${name} (ack due in ${ms} ms)`)
}
