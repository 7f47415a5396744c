import { fail } from '../../errors'
import { checkTopicName } from '../../store/names'
import { splitToken } from '../../protocol/parseCommand'
import type { Handler, HandlerContext } from '../context'
import { notSubscribed } from './unsub'

/** Parses an optional millisecond argument bounded by maxAckTimeoutMs. */
export function parseMs (ctx: HandlerContext, text: string, what: string, min: number): number | undefined {
  if (text === '') return undefined
  const n = /^\d{1,12}$/.test(text) ? Number(text) : NaN
  if (!(n >= min && n <= ctx.config.maxAckTimeoutMs)) {
    fail('BAD_DELAY', { what, min, max: ctx.config.maxAckTimeoutMs, got: text })
  }
  return n
}

/**
 * `nack <topic> <event-id> [delay-ms]`: gives an in-flight event back, to be
 * delivered again at once or after the delay (or dead-lettered once it has
 * been delivered maxDeliveries times).
 */
export const nack: Handler = (ctx, session, args) => {
  const [name, rest] = splitToken(args)
  checkTopicName(name)
  const [id, rest2] = splitToken(rest)
  const [delayText, extra] = splitToken(rest2)
  if (id === '' || extra !== '') fail('BAD_ARGS', { usage: ctx.table.usage('nack') })
  const delay = parseMs(ctx, delayText, 'delay', 0) ?? 0
  const subscription = session.subscriptions.get(name) ?? notSubscribed(ctx, name)
  const d = subscription.takeBack(id)
  if (d === undefined) fail('NOT_IN_FLIGHT', { id, topic: name })
  const dead = ctx.redelivery.giveBack(subscription, d, 'nack', delay)
  session.reply(dead
    ? `OK nacked ${id} on ${name}: moved to ${name}.dlq after ${d.deliveries} deliveries`
    : `OK nacked ${id} on ${name}${delay > 0 ? ` (again in ${delay} ms)` : ''}`)
  subscription.pump()
}
