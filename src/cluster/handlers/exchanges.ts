import { exchangesReply } from '../../manager/handlers/exchanges'
import { listExchanges } from '../exchangeStore'
import type { ClusterHandler } from './handler'

/** `exchanges` in cluster mode: every exchange of the cluster, as on one node. */
export const exchanges: ClusterHandler = async (node, ctx, session) => {
  return exchangesReply(ctx, session, await listExchanges(node))
}
