import type { Fields } from '../../commands/spec'
import type { HandlerContext } from '../../manager/context'
import { replyLater } from '../../manager/replyLater'
import type { Session } from '../../manager/session'
import type { ClusterNode } from '../node'

/**
 * A command's handler in cluster mode: the same typed fields as its
 * single-node handler (same spec, words, access rule), state in Redis. It
 * returns the reply line once the scripts (and WAIT) are done; a
 * BrokerError thrown is the `ERR` line. The session's next lines wait for
 * it (replyLater), so replies stay in command order.
 */
export type ClusterHandler = (node: ClusterNode, ctx: HandlerContext, session: Session, fields: Fields) => Promise<string>

/** Runs a cluster handler for one command line. */
export function runClusterHandler (handler: ClusterHandler, node: ClusterNode, ctx: HandlerContext, session: Session, fields: Fields): void {
  replyLater(ctx, session, handler(node, ctx, session, fields))
}

/** `s` for a count other than one. */
export function plural (n: number): string {
  return n === 1 ? '' : 's'
}
