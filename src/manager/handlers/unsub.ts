import { fail } from '../../errors'
import { checkTopicName } from '../../store/names'
import type { Handler } from '../context'

/** `unsub <topic>`: ends the subscription for good, named or not; its unacked events are dropped. */
export const unsub: Handler = (ctx, session, args) => {
  const name = checkTopicName(args)
  const subscription = session.subscriptions.get(name)
  if (subscription === undefined) fail(ctx.store.topic(name) === undefined ? 'UNKNOWN_TOPIC' : 'NOT_SUBSCRIBED', `not subscribed to ${name}`)
  session.subscriptions.delete(name)
  subscription.topic.subscriptions.delete(subscription.key)
  const dropped = subscription.pending + subscription.inFlight.size
  subscription.destroy()
  session.reply(`OK unsubscribed from ${name}${dropped > 0 ? ` (${dropped} unacked events dropped)` : ''}`)
}
