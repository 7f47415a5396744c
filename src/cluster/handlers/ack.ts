import { fail } from '../../errors'
import type { ClusterHandler } from './handler'
import { subscribed } from './subscribed'

/**
 * `ack <topic> <event-id> [event-id ...]` in cluster mode: one script, all
 * or nothing (every id in flight for this connection, none twice), WAIT;
 * the freed slots are filled by a pull.
 */
export const ack: ClusterHandler = async (node, ctx, session, fields) => {
  const name = fields.topic as string
  const first = fields.id as string
  const more = fields.more as readonly string[] | undefined
  const ids = more === undefined ? [first] : [first, ...more]
  if (more !== undefined) {
    const seen = new Set<string>()
    for (const id of ids) {
      if (seen.has(id)) fail('BAD_ARGS.repeatedId', { id })
      seen.add(id)
    }
  }
  const local = await subscribed(node, session, name)
  const r = await node.store.run('acklineAck', name, [local.key, local.consumer, ...ids], true)
  const refused = Number(r[0])
  if (refused > 0) {
    if (more === undefined) fail('NOT_IN_FLIGHT', { id: first, topic: name })
    fail('NOT_IN_FLIGHT.batch', { id: ids[refused - 1], topic: name })
  }
  ctx.stats.acked += ids.length
  const rangeEnd = Number(r[1])
  if (rangeEnd > 0) {
    // The range is acked to its end: the subscription is over, `END <topic> <to>` after this reply.
    node.removed(local)
    node.afterReply(session, () => session.reply(`END ${name} ${rangeEnd}`))
  } else {
    node.pullSoon(local)
  }
  return more === undefined ? `OK acked ${first} on ${name}` : `OK acked ${ids.length} on ${name}`
}
