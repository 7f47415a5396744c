import { defineCommand, type FieldsOf } from '../../commands/spec'
import { fail } from '../../errors'
import type { HandlerContext } from '../context'
import type { Session } from '../session'
import { topicOrPattern } from '../../routing/args'
import { isPatternName } from '../../routing/topicPattern'
import { unsubscribePattern } from './subPattern'

/** The error for a command that needs a subscription this session does not have. */
export function notSubscribed (ctx: HandlerContext, name: string): never {
  if (ctx.store.topic(name) === undefined) fail('UNKNOWN_TOPIC', { topic: name })
  fail('NOT_SUBSCRIBED', { topic: name })
}

const args = [topicOrPattern()] as const

/** `unsub <topic>`: ends the subscription for good, named or not; its unacked events are dropped. */
export const unsub = defineCommand({ name: 'unsub', words: ['unsub', 'UNSUBSCRIBE'], args, access: 'topic-visible', handler })

function handler (ctx: HandlerContext, session: Session, { topic: name }: FieldsOf<typeof args>): void {
  if (isPatternName(name)) return unsubscribePattern(ctx, session, name)
  const subscription = session.subscriptions.get(name) ?? notSubscribed(ctx, name)
  const dropped = subscription.pending + subscription.inFlight.size
  const ticket = subscription.topic.unsubscribe(subscription, 'unsub')
  session.subscriptions.delete(name)
  ctx.durability.reply(session, `OK unsubscribed from ${name}${dropped > 0 ? ` (${dropped} unacked event${dropped === 1 ? '' : 's'} dropped)` : ''}`, ticket)
}
