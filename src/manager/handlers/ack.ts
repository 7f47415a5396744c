import { fail } from '../../errors'
import { checkTopicName } from '../../store/names'
import { skipBlanks, tokenEnd } from '../../protocol/parseCommand'
import type { Handler } from '../context'
import { notSubscribed } from './unsub'

/** `ack <topic> <event-id>`: frees the in-flight slot and forgets the event for this subscriber. */
export const ack: Handler = (ctx, session, args) => {
  // Same split as splitToken twice, by index (no arrays: this runs once per delivered event).
  const nameEnd = tokenEnd(args, 0)
  const name = args.slice(0, nameEnd)
  checkTopicName(name)
  const idStart = skipBlanks(args, nameEnd)
  const idEnd = tokenEnd(args, idStart)
  const id = args.slice(idStart, idEnd)
  if (id === '' || skipBlanks(args, idEnd) !== args.length) fail('BAD_ARGS', { usage: ctx.table.usage('ack') })
  const subscription = session.subscriptions.get(name) ?? notSubscribed(ctx, name)
  const d = subscription.ack(id)
  if (d === undefined) fail('NOT_IN_FLIGHT', { id, topic: name })
  ctx.durability.reply(session, `OK acked ${id} on ${name}`, ctx.durability.acked(subscription, d.ev.offset))
  subscription.pump()
  subscription.checkRangeDone()
  ctx.flow.progressed(subscription.topic)
}
