import type { Fields } from '../../commands/spec'
import type { HandlerContext } from '../../manager/context'
import { BrokerError, errLine } from '../../errors'
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
 * Runs a cluster handler for one command line, as replyLater does (the
 * session's next lines wait for the reply; a BrokerError is its `ERR` line,
 * anything else is logged and `ERR INTERNAL`). While it runs, events pulled
 * for the session wait (ClusterNode.replyStarted), and go right after the
 * reply, as on one node (`OK acked …`, then the next `EVENT`).
 */
export function runClusterHandler (handler: ClusterHandler, node: ClusterNode, ctx: HandlerContext, session: Session, fields: Fields): void {
  node.replyStarted(session)
  session.throttled = true
  session.replyPending = true
  const finish = (line: string): void => {
    session.throttled = false
    session.replyPending = false
    session.reply(line)
    node.replyDone(session)
    ctx.resume(session)
  }
  let work: Promise<string>
  try {
    work = handler(node, ctx, session, fields)
  } catch (err) {
    work = Promise.reject(err)
  }
  work.then(finish, (err: unknown) => {
    if (!(err instanceof BrokerError)) ctx.log.error({ err, session: session.id }, 'command failed unexpectedly')
    finish(errLine(err))
  })
}

/** `s` for a count other than one. */
export function plural (n: number): string {
  return n === 1 ? '' : 's'
}
