import { topicInfo, topicsEntry } from '../topicInfo'
import type { ClusterHandler } from './handler'

/**
 * `topics` in cluster mode: the same `OK [{"topic","firstOffset","lastOffset","retainedEvents",
 * "retainedBytes","subscribers","pending"}, …]` as on one node, from Redis, sorted by name.
 */
export const topics: ClusterHandler = async (node, ctx, session) => {
  const user = ctx.auth.userOf(session)
  const names = (await node.store.topicNames()).filter(n => n.charCodeAt(0) !== 0x7e || ctx.auth.rights(user, n).visible).sort()
  const infos = await Promise.all(names.map(async topic => await topicInfo(node, topic)))
  return 'OK ' + JSON.stringify(infos.filter(i => i !== null).map(topicsEntry))
}
