import { fail } from '../../errors'
import { isPatternName } from '../../routing/topicPattern'
import { consumerId, subKey } from '../keys'
import { LocalSubscription } from '../localSubscriptions'
import { runChecked } from '../grants'
import type { ClusterHandler } from './handler'
import { joinGroup } from './subGroup'
import { startSpec } from '../eventText'
import type { StartAt } from '../../store/topic'

/**
 * `sub <topic> [max-in-flight [ack-timeout-ms]]` in cluster mode: creates
 * the subscription in Redis, or resumes a named client's (events it had not
 * acked go first, with deliveries counted on); `group=` joins a consumer
 * group (subGroup.ts). `from=` and `to=` apply when the subscription is
 * created (a replay of the retained events, a range); `ack=none` makes an
 * anonymous at-most-once subscription; a pattern subscribes to every
 * matching topic (wildcards.ts).
 */
export const sub: ClusterHandler = async (node, ctx, session, fields) => {
  const name = fields.topic as string
  const atMostOnce = fields.ack === 'none'
  // As on one node: ack=none has nothing to share or to ack.
  if (atMostOnce && isPatternName(name)) fail('BAD_OPTION.value', { option: 'ack', expected: 'explicit on a wildcard subscription', got: 'none' })
  if (atMostOnce && fields.group !== undefined) fail('BAD_OPTION.value', { option: 'ack', expected: 'explicit in a consumer group', got: 'none' })
  const from = startSpec(fields.from as StartAt | undefined)
  if (isPatternName(name)) {
    if (fields.group !== undefined) fail('BAD_OPTION.value', { option: 'group', expected: 'absent on a wildcard subscription', got: fields.group as string })
    return await node.wildcards.subscribe(ctx, session, name, fields.maxInFlight as number | undefined, fields.ackTimeoutMs as number | undefined, from, fields.to as number | undefined)
  }
  const to = (fields.to as number | undefined) ?? 0
  if (node.subs.get(session, name) !== undefined) fail('ALREADY_SUBSCRIBED', { topic: name })
  const max = ctx.config.maxSubscriptionsPerConnection
  if (node.subs.countOf(session) >= max) fail('TOO_MANY_SUBSCRIPTIONS', { max })
  const asked = fields.maxInFlight as number | undefined
  const askedTimeout = fields.ackTimeoutMs as number | undefined
  if (fields.group !== undefined) {
    if (to > 0) fail('BAD_OPTION.value', { option: 'to', expected: 'absent in a group', got: String(to) })
    return await joinGroup(node, ctx, session, name, fields.group as string, asked, askedTimeout, from)
  }
  const named = session.name !== null
  if (atMostOnce) {
    if (named) fail('BAD_OPTION.atMostOnceNamed', { name: session.name! })
    const refused = asked !== undefined ? 'max-in-flight' : askedTimeout !== undefined ? 'ack timeout'
      : fields.from !== undefined ? 'from=' : fields.to !== undefined ? 'to=' : null
    if (refused !== null) {
      if (!await node.topicExists(name)) fail('UNKNOWN_TOPIC.sub', { topic: name }) // as on one node: the topic is checked first
      fail('BAD_OPTION.atMostOnceWith', { what: refused })
    }
  }
  const key = named ? subKey.named(session.name!) : subKey.anonymous(node.id, session.id)
  const consumer = consumerId(node.id, session.id)
  const r = await runChecked(node, ctx, session, 'acklineSubscribe', name, [key, consumer, asked ?? '', askedTimeout ?? '', named ? 1 : 0, ctx.config.maxInFlight, ctx.config.ackTimeoutMs, from, to, atMostOnce ? ctx.config.atMostOnceMaxWaiting : 0], 'sub')
  if (r[0] === -1) fail('UNKNOWN_TOPIC.sub', { topic: name })
  if (r[0] === -2) fail('BAD_OPTION.range', { to, start: Number(r[1]) })
  const local = new LocalSubscription(session, name, key, consumer, named, null, null, atMostOnce)
  if (node.isGone(session)) {
    // The connection closed while the script ran: undo as its disconnect would have.
    await node.release(local)
    return 'OK'
  }
  const reply = atMostOnce
    ? `OK subscribed to ${name} (at most once, ack=none)`
    : `OK subscribed to ${name} (max in flight ${Number(r[2])}${r[0] === 1 ? `, resumed with ${Number(r[1])} pending` : ''})`
  if (Number(r[3]) > 0) {
    // A range with nothing left to deliver (its events were trimmed): over at once, as on one node.
    node.afterReply(session, () => session.reply(`END ${name} ${Number(r[3])}`))
    return reply
  }
  await node.added(local)
  return reply
}
