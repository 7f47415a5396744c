import { fail } from '../../errors'
import { checkTopicName } from '../../store/names'
import { splitToken } from '../../protocol/parseCommand'
import type { Handler, HandlerContext } from '../context'
import type { Subscription } from '../../store/subscription'

/** The error for a command that needs a subscription this session does not have. */
export function notSubscribed (ctx: HandlerContext, name: string): never {
  if (ctx.store.topic(name) === undefined) fail('UNKNOWN_TOPIC', { topic: name })
  fail('NOT_SUBSCRIBED', { topic: name })
}


/** `unsub <topic>`: ends the subscription for good, named or not; its unacked events are dropped. */
export const unsub: Handler = (ctx, session, args) => {
  const [name, extra] = splitToken(args)
  checkTopicName(name)
  if (extra !== '') fail('BAD_ARGS.unexpected', { extra, usage: ctx.table.usage('unsub') })
  const subscription = session.subscriptions.get(name) ?? notSubscribed(ctx, name)
  session.subscriptions.delete(name)
  subscription.topic.subscriptions.delete(subscription.key)
  const dropped = subscription.pending + subscription.inFlight.size
  subscription.destroy()
  ctx.durability.reply(session, `OK unsubscribed from ${name}${dropped > 0 ? ` (${dropped} unacked event${dropped === 1 ? '' : 's'} dropped)` : ''}`, ctx.durability.unsubscribed(subscription))
}
