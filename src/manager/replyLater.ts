import { BrokerError, errLine } from '../errors'
import type { HandlerContext } from './context'
import type { Session } from './session'

/**
 * Answers a command whose reply needs I/O (a read of the segments): the
 * session's next lines are not applied until the reply is out, so replies
 * stay in command order, as flow control holds a publisher (`throttled`).
 * A BrokerError becomes the `ERR` line; any other failure is logged and
 * answered `ERR INTERNAL`.
 */
export function replyLater (ctx: HandlerContext, session: Session, work: Promise<string>, hooks: ReplyLaterHooks = {}): void {
  session.throttled = true
  session.replyPending = true
  const finish = (line: string): void => {
    session.throttled = false
    session.replyPending = false
    session.reply(line)
    hooks.afterReply?.()
    ctx.resume(session)
  }
  work.then(finish, (err: unknown) => {
    if (err instanceof BrokerError) return finish(errLine(err))
    const line = hooks.failureLine?.(err)
    if (line !== undefined) return finish(line)
    ctx.log.error({ err, session: session.id }, 'command failed unexpectedly')
    finish(errLine(err))
  })
}

/** What a caller of replyLater adds: cluster mode (src/cluster/handlers/handler.ts). */
export interface ReplyLaterHooks {
  /** Runs right after the reply is queued, before the session's next line. */
  afterReply?: () => void
  /** The reply for a failure that is not a BrokerError and not a bug (a Redis outage), or undefined. */
  failureLine?: (err: unknown) => string | undefined
}
