import * as arg from '../../commands/args'
import * as opt from '../../commands/options'
import { defineCommand, type FieldsOf } from '../../commands/spec'
import { fail } from '../../errors'
import type { HandlerContext } from '../context'
import type { Session } from '../session'
import { checkSubscriptionLimit } from '../limits'
import { topicOrPattern } from '../../routing/args'
import { isPatternName } from '../../routing/topicPattern'
import { subscribePattern } from './subPattern'
import { groupOption, subscribeGroup } from './subGroup'

const args = [topicOrPattern(), arg.optional(arg.inFlight()), arg.optional(arg.millis('ackTimeoutMs', 'ack-timeout-ms', 'ack timeout', 10))] as const
const options = [
  opt.from(),
  opt.to(),
  groupOption(),
] as const

/**
 * `sub <topic> [max-in-flight [ack-timeout-ms]] [from=…] [to=<offset>]`: subscribes, to new events
 * (no from=) or from a start position (a replay), up to `to` for a range. A named client that
 * subscribes again resumes its durable subscription from its own state (from= and to= apply only
 * when it is created): events it had not acked go first.
 */
export const sub = defineCommand({ name: 'sub', words: ['sub', 'SUBSCRIBE'], args, options, access: 'topic-subscribe', handler })

function handler (ctx: HandlerContext, session: Session, fields: FieldsOf<typeof args, typeof options>): void {
  const { topic: name, maxInFlight: asked, ackTimeoutMs: askedTimeout } = fields
  if (isPatternName(name)) {
    if (fields.group !== undefined) fail('BAD_OPTION.value', { option: 'group', expected: 'absent on a wildcard subscription', got: fields.group })
    return subscribePattern(ctx, session, name, asked, askedTimeout, fields.from, fields.to)
  }
  if (fields.group !== undefined) return subscribeGroup(ctx, session, name, fields.group, asked, askedTimeout, fields.from, fields.to)
  const topic = ctx.store.topic(name)
  if (topic === undefined) fail('UNKNOWN_TOPIC.sub', { topic: name })
  if (session.subscriptions.has(name)) fail('ALREADY_SUBSCRIBED', { topic: name })
  checkSubscriptionLimit(ctx, session)

  const key = session.name ?? `#${session.id}`
  // On a private topic, remember (durably) whose subscription this is: revoke ends it by user.
  const user = name.charCodeAt(0) === 0x7e ? ctx.auth.userOf(session) : null
  let subscription = topic.subscriptions.get(key)
  const resumed = subscription !== undefined
  let ticket = 0
  if (subscription === undefined) {
    const start = topic.startOffset(fields.from ?? 'next')
    const to = fields.to ?? 0
    if (to > 0 && to < start) fail('BAD_OPTION.range', { to, start })
    subscription = topic.subscribe(key, session.name !== null, asked ?? ctx.config.maxInFlight, askedTimeout ?? ctx.config.ackTimeoutMs, start, to)
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
  subscription.checkRangeDone()
}
