import { exchangesReply } from '../../manager/handlers/exchanges'
import { listExchanges } from '../exchangeStore'
import { grantsForTopics } from '../grants'
import type { ClusterHandler } from './handler'

/** `exchanges` in cluster mode: every exchange of the cluster, as on one node (a private topic's bindings shown to its grantees, by the grants in Redis). */
export const exchanges: ClusterHandler = async (node, ctx, session) => {
  const list = await listExchanges(node)
  const grants = await grantsForTopics(node, ctx, session, list.flatMap(x => x.bindings.map(b => b.topic)))
  return exchangesReply(ctx, session, list, grants)
}
