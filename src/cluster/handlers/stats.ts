import { existingTopicInfo, topicInfo, topicStats } from '../topicInfo'
import type { ClusterHandler } from './handler'

/**
 * `stats [topic]` in cluster mode. For a topic: the same object as on one
 * node, from Redis. Broker-wide: the topics, subscriptions, pending and
 * in-flight counts of the whole cluster (from Redis), the rest (published,
 * delivered, acked, rates, connections, memory) this node's own, plus
 * `node`: this node's id.
 */
export const stats: ClusterHandler = async (node, ctx, _session, fields) => {
  const name = fields.topic as string | undefined
  if (name !== undefined) return 'OK ' + JSON.stringify(topicStats(await existingTopicInfo(node, name)))
  const infos = (await Promise.all((await node.store.topicNames()).map(async t => await topicInfo(node, t)))).filter(i => i !== null)
  const snapshot = ctx.stats.snapshot(ctx.store, ctx.clock.now())
  snapshot.topics = infos.length
  snapshot.subscriptions = infos.reduce((n, i) => n + i.subscriptions.length, 0)
  snapshot.pending = infos.reduce((n, i) => n + i.pending, 0)
  snapshot.inFlight = infos.reduce((n, i) => n + i.inFlight, 0)
  snapshot.node = node.id
  return 'OK ' + JSON.stringify(snapshot)
}
