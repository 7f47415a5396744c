import { isPatternName } from '../../routing/topicPattern'
import { plural, type ClusterHandler } from './handler'
import { notInCluster } from './notInCluster'
import { subscribed } from './subscribed'

/** `unsub <topic>` in cluster mode: ends the subscription for good, named or not; its unacked events are dropped. */
export const unsub: ClusterHandler = async (node, _ctx, session, fields) => {
  const name = fields.topic as string
  if (isPatternName(name)) notInCluster('unsub of a wildcard pattern')
  if (fields.group !== undefined || fields.forget !== undefined) notInCluster('unsub forget / group=')
  const local = await subscribed(node, session, name)
  node.removed(local)
  const r = await node.store.run('acklineUnsubscribe', name, [local.key], true)
  const dropped = Math.max(0, Number(r[0]))
  return `OK unsubscribed from ${name}${dropped > 0 ? ` (${dropped} unacked event${plural(dropped)} dropped)` : ''}`
}
