import * as arg from '../../commands/args'
import * as opt from '../../commands/options'
import { defineCommand, type FieldsOf } from '../../commands/spec'
import { fail } from '../../errors'
import type { Topic } from '../../store/topic'
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
  opt.choice('ack', 'ack', ['explicit', 'none']),
  groupOption(),
] as const

/**
 * `sub <topic> [max-in-flight [ack-timeout-ms]] [from=…] [to=<offset>] [ack=explicit|none] [group=<name>]`: subscribes, to new events
 * (no from=) or from a start position (a replay), up to `to` for a range. A named client that
 * subscribes again resumes its durable subscription from its own state (from= and to= apply only
 * when it is created): events it had not acked go first. `ack=none` subscribes at most once
 * (anonymous only, new events only, one topic, no group): events are written and forgotten.
 * A wildcard pattern (`orders.*`) subscribes to every matching topic (subPattern.ts);
 * `group=<name>` joins a consumer group (subGroup.ts).
 */
export const sub = defineCommand({ name: 'sub', words: ['sub', 'SUBSCRIBE'], args, options, access: 'topic-subscribe', handler })

function handler (ctx: HandlerContext, session: Session, fields: FieldsOf<typeof args, typeof options>): void {
  const { topic: name, maxInFlight: asked, ackTimeoutMs: askedTimeout } = fields
  // ack=none has nothing to share or to ack: a group's queue is durable and acked, a wildcard's members share an in-flight cap.
  if (fields.ack === 'none' && isPatternName(name)) fail('BAD_OPTION.value', { option: 'ack', expected: 'explicit on a wildcard subscription', got: 'none' })
  if (fields.ack === 'none' && fields.group !== undefined) fail('BAD_OPTION.value', { option: 'ack', expected: 'explicit in a consumer group', got: 'none' })
  if (isPatternName(name)) {
    if (fields.group !== undefined) fail('BAD_OPTION.value', { option: 'group', expected: 'absent on a wildcard subscription', got: fields.group })
    return subscribePattern(ctx, session, name, asked, askedTimeout, fields.from, fields.to)
  }
  if (fields.group !== undefined) return subscribeGroup(ctx, session, name, fields.group, asked, askedTimeout, fields.from, fields.to)
  const topic = ctx.store.topic(name)
  if (topic === undefined) fail('UNKNOWN_TOPIC.sub', { topic: name })
  if (session.subscriptions.has(name)) fail('ALREADY_SUBSCRIBED', { topic: name })
  checkSubscriptionLimit(ctx, session)
  if (fields.ack === 'none') {
    subscribeAtMostOnce(ctx, session, topic, fields)
    return
  }

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

/**
 * `ack=none`: at most once, for new events, on an anonymous connection only (a
 * durable name promises what this mode does not keep). Nothing is journaled.
 */
function subscribeAtMostOnce (ctx: HandlerContext, session: Session, topic: Topic, fields: FieldsOf<typeof args, typeof options>): void {
  if (session.name !== null) fail('BAD_OPTION.atMostOnceNamed', { name: session.name })
  const refused = fields.maxInFlight !== undefined ? 'max-in-flight' : fields.ackTimeoutMs !== undefined ? 'ack timeout'
    : fields.from !== undefined ? 'from=' : fields.to !== undefined ? 'to=' : null
  if (refused !== null) fail('BAD_OPTION.atMostOnceWith', { what: refused })
  const subscription = topic.subscribeAtMostOnce(`#${session.id}`, ctx.config.atMostOnceMaxWaiting)
  // On a private topic, whose it is: revoke ends it like any other subscription of that user.
  if (topic.name.charCodeAt(0) === 0x7e) subscription.user = ctx.auth.userOf(session)
  session.subscriptions.set(topic.name, subscription)
  subscription.attach(session)
  ctx.durability.reply(session, `OK subscribed to ${topic.name} (at most once, ack=none)`, 0)
}
