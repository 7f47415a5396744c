import type { ClusterHandler } from './handler'
import { subscribed } from './subscribed'

/**
 * `commit <topic> <offset>` in cluster mode: a batch ack in one script, as on
 * one node: every event delivered to this subscription and not acked (in
 * flight to this connection, owed a redelivery, delayed by nack) whose offset
 * is at most `<offset>`; events never delivered stay. A range acked to its
 * end ends (`END <topic> <to>` after the reply).
 */
export const commit: ClusterHandler = async (node, ctx, session, fields) => {
  const name = fields.topic as string
  const offset = fields.offset as number
  const local = await subscribed(node, session, name)
  const r = await node.store.run('acklineCommit', name, [local.key, local.consumer, offset], true)
  const n = Number(r[0])
  ctx.stats.acked += n
  const rangeEnd = Number(r[1])
  if (rangeEnd > 0) {
    node.removed(local)
    node.afterReply(session, () => session.reply(`END ${name} ${rangeEnd}`))
  } else if (n > 0) {
    node.pullSoon(local)
  }
  return `OK committed ${name} up to ${offset} (${n} acked)`
}
