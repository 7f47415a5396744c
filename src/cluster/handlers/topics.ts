import { granteeOf, grantsOf } from '../grants'
import { topicInfo, topicsEntry } from '../topicInfo'
import type { ClusterHandler } from './handler'

/**
 * `topics` in cluster mode: the same `OK [{"topic","firstOffset","lastOffset","retainedEvents",
 * "retainedBytes","subscribers","pending"}, …]` as on one node, from Redis, sorted by name.
 */
export const topics: ClusterHandler = async (node, ctx, session) => {
  const user = ctx.auth.userOf(session)
  const all = await node.store.topicNames()
  // A private topic is listed to its owner and its grantees (their grants are in Redis), as on one node.
  const shown = await Promise.all(all.map(async n => n.charCodeAt(0) !== 0x7e || (granteeOf(ctx, session, n) === null
    ? ctx.auth.rights(user, n).visible
    : ctx.auth.rights(user, n, await grantsOf(node, n, user!)).visible)))
  const names = all.filter((_, i) => shown[i]).sort()
  const infos = await Promise.all(names.map(async topic => await topicInfo(node, topic)))
  return 'OK ' + JSON.stringify(infos.filter(i => i !== null).map(topicsEntry))
}
