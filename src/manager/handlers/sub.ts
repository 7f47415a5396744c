import { fail } from '../../errors'
import { checkTopicName } from '../../store/names'
import { splitToken } from '../../protocol/parseCommand'
import type { Handler, HandlerContext } from '../context'
import { parseMs } from './nack'
import { checkSubscriptionLimit } from '../limits'

function parseInFlight (ctx: HandlerContext, text: string): number | undefined {
  if (text === '') return undefined
  const n = /^\d{1,9}$/.test(text) ? Number(text) : NaN
  if (!(n >= 1 && n <= ctx.config.maxInFlightLimit)) {
    fail('BAD_IN_FLIGHT', { max: ctx.config.maxInFlightLimit, got: text })
  }
  return n
}

/**
 * `sub <topic> [max-in-flight]`: subscribes. A named client that subscribes
 * again resumes its durable subscription: events it had not acked go first.
 */
export const sub: Handler = (ctx, session, args) => {
  const [name, rest] = splitToken(args)
  checkTopicName(name)
  const topic = ctx.store.topic(name)
  if (topic === undefined) fail('UNKNOWN_TOPIC.sub', { topic: name })
  const [n, rest2] = splitToken(rest)
  const [timeoutText, extra] = splitToken(rest2)
  if (extra !== '') fail('BAD_ARGS.unexpected', { extra, usage: ctx.table.usage('sub') })
  const asked = parseInFlight(ctx, n)
  const askedTimeout = parseMs(ctx, timeoutText, 'ack timeout', 10)
  if (session.subscriptions.has(name)) fail('ALREADY_SUBSCRIBED', { topic: name })
  checkSubscriptionLimit(ctx, session)

  const key = session.name ?? `#${session.id}`
  // On a private topic, remember (durably) whose subscription this is: revoke ends it by user.
  const user = name.charCodeAt(0) === 0x7e ? ctx.auth.userOf(session) : null
  let subscription = topic.subscriptions.get(key)
  const resumed = subscription !== undefined
  let ticket = 0
  if (subscription === undefined) {
    subscription = topic.subscribe(key, session.name !== null, asked ?? ctx.config.maxInFlight, askedTimeout ?? ctx.config.ackTimeoutMs)
    subscription.user = user
    ticket = ctx.durability.subscribed(subscription)
  } else if ((asked !== undefined && asked !== subscription.maxInFlight) || (askedTimeout !== undefined && askedTimeout !== subscription.ackTimeoutMs) ||
      user !== subscription.user) {
    subscription.maxInFlight = asked ?? subscription.maxInFlight
    subscription.ackTimeoutMs = askedTimeout ?? subscription.ackTimeoutMs
    subscription.user = user
    ticket = ctx.durability.subscribed(subscription)
  }
  session.subscriptions.set(name, subscription)
  subscription.attach(session)
  const detail = resumed ? `, resumed with ${subscription.pending} pending` : ''
  ctx.durability.reply(session, `OK subscribed to ${name} (max in flight ${subscription.maxInFlight}${detail})`, ticket)
  subscription.pump()
}
