import { fail, quote } from '../../errors'
import { checkTopicName } from '../../store/names'
import { splitToken } from '../../protocol/parseCommand'
import type { Handler } from '../context'
import { notSubscribed } from './unsub'

/** `ack <topic> <event-id>`: frees the in-flight slot and forgets the event for this subscriber. */
export const ack: Handler = (ctx, session, args) => {
  const [name, rest] = splitToken(args)
  checkTopicName(name)
  const [id, extra] = splitToken(rest)
  if (id === '' || extra !== '') fail('BAD_ARGS', `usage: ${ctx.table.usage('ack')}`)
  const subscription = session.subscriptions.get(name) ?? notSubscribed(ctx, name)
  if (!subscription.ack(id)) fail('NOT_IN_FLIGHT', `event ${quote(id)} is not in flight for you on ${name}`)
  ctx.durability.reply(session, `OK acked ${id} on ${name}`, ctx.durability.acked(subscription, id))
  subscription.pump()
}
