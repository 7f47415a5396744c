import { defineCommand, type FieldsOf } from '../../commands/spec'
import { fail } from '../../errors'
import type { HandlerContext } from '../context'
import type { Session } from '../session'
import { topicOrPattern } from '../../routing/args'
import { isPatternName } from '../../routing/topicPattern'
import { unsubscribePattern } from './subPattern'
import { groupOption, unsubscribeGroup } from './subGroup'
import * as arg from '../../commands/args'

/** The error for a command that needs a subscription this session does not have. */
export function notSubscribed (ctx: HandlerContext, name: string): never {
  if (ctx.store.topic(name) === undefined) fail('UNKNOWN_TOPIC', { topic: name })
  fail('NOT_SUBSCRIBED', { topic: name })
}

const args = [topicOrPattern(), arg.optional(arg.choice('forget', 'the word after the topic', ['forget']))] as const
const options = [groupOption()] as const

/**
 * `unsub <topic> [forget] [group=<name>]`: ends the subscription for good, named or not; its unacked
 * events are dropped. A group member leaves its group instead; `forget group=<name>` ends the group.
 */
export const unsub = defineCommand({ name: 'unsub', words: ['unsub', 'UNSUBSCRIBE'], args, options, access: 'topic-visible', handler })

function handler (ctx: HandlerContext, session: Session, { topic: name, forget, group }: FieldsOf<typeof args, typeof options>): void {
  if (isPatternName(name)) return unsubscribePattern(ctx, session, name)
  if (unsubscribeGroup(ctx, session, name, group, forget !== undefined)) return
  const subscription = session.subscriptions.get(name) ?? notSubscribed(ctx, name)
  const dropped = subscription.pending + subscription.inFlight.size
  const ticket = subscription.topic.unsubscribe(subscription, 'unsub')
  session.subscriptions.delete(name)
  ctx.durability.reply(session, `OK unsubscribed from ${name}${dropped > 0 ? ` (${dropped} unacked event${dropped === 1 ? '' : 's'} dropped)` : ''}`, ticket)
}
