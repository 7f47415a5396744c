import { isPatternName } from '../../routing/topicPattern'
import { plural, type ClusterHandler } from './handler'
import { subscribed } from './subscribed'
import { leaveGroup } from './subGroup'

/**
 * `unsub <topic>` in cluster mode: ends the subscription for good, named or
 * not; its unacked events are dropped. A group member leaves its group;
 * `unsub <topic> forget group=<name>` ends the group (subGroup.ts);
 * `unsub <pattern>` a wildcard subscription (wildcards.ts).
 */
export const unsub: ClusterHandler = async (node, _ctx, session, fields) => {
  const name = fields.topic as string
  if (isPatternName(name)) return await node.wildcards.unsubscribe(session, name)
  const left = await leaveGroup(node, session, name, fields.group as string | undefined, fields.forget !== undefined)
  if (left !== null) return left
  const local = await subscribed(node, session, name)
  node.removed(local)
  const r = await node.store.run('acklineUnsubscribe', name, [local.key], true)
  const dropped = Math.max(0, Number(r[0]))
  return `OK unsubscribed from ${name}${dropped > 0 ? ` (${dropped} unacked event${plural(dropped)} dropped)` : ''}`
}
