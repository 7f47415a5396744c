import { fail } from '../../errors'
import { checkTopicName } from '../../store/names'
import { splitToken } from '../../protocol/parseCommand'
import type { Handler } from '../context'
import { parseMs } from './nack'
import { notSubscribed } from './unsub'

/** `touch <topic> <event-id> [extend-ms]`: a long job asks for more time before its event is redelivered. */
export const touch: Handler = (ctx, session, args) => {
  const [name, rest] = splitToken(args)
  checkTopicName(name)
  const [id, rest2] = splitToken(rest)
  const [msText, extra] = splitToken(rest2)
  if (id === '' || extra !== '') fail('BAD_ARGS', { usage: ctx.table.usage('touch') })
  const subscription = session.subscriptions.get(name) ?? notSubscribed(ctx, name)
  const ms = parseMs(ctx, msText, 'extension', 1) ?? subscription.ackTimeoutMs
  if (!subscription.touch(id, ms, ctx.clock.now())) fail('NOT_IN_FLIGHT', { id, topic: name })
  session.reply(`OK touched ${id} on ${name} (ack due in ${ms} ms)`)
}
