import type { Fields } from '../../commands/spec'
import type { HandlerContext } from '../../manager/context'
import { errorLine } from '../../errors'
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

/**
 * Runs a cluster handler for one command line through replyLater (the
 * session's next lines wait for the reply; a BrokerError is its `ERR` line, a
 * Redis outage `CLUSTER_UNAVAILABLE`, anything else is logged and `ERR
 * INTERNAL`). While it runs, events pulled for the session wait
 * (ClusterNode.replyStarted), and go right after the reply, as on one node
 * (`OK acked …`, then the next `EVENT`).
 */
export function runClusterHandler (handler: ClusterHandler, node: ClusterNode, ctx: HandlerContext, session: Session, fields: Fields): void {
  node.replyStarted(session)
  let work: Promise<string>
  try {
    work = handler(node, ctx, session, fields)
  } catch (err) {
    work = Promise.reject(err)
  }
  replyLater(ctx, session, work, {
    afterReply: () => node.replyDone(session),
    failureLine: err => {
      if (!isRedisFailure(err)) return undefined
      ctx.log.warn({ err, session: session.id }, 'redis cluster unavailable for a command')
      return errorLine('CLUSTER_UNAVAILABLE', { cause: err.message })
    },
  })
}

/**
 * A failure of the Redis Cluster rather than of Ackline: a lost connection,
 * a failover under way, retries exhausted (ioredis's errors). A JavaScript
 * error of our own (TypeError, …) or an error raised by a script is a bug:
 * INTERNAL.
 */
export function isRedisFailure (err: unknown): err is Error {
  if (!(err instanceof Error) || err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError || err instanceof SyntaxError) return false
  return !/script/i.test(err.message)
}

/** `s` for a count other than one. */
export function plural (n: number): string {
  return n === 1 ? '' : 's'
}
