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
export function replyLater (ctx: HandlerContext, session: Session, work: Promise<string>): void {
  session.throttled = true
  session.replyPending = true
  const finish = (line: string): void => {
    session.throttled = false
    session.replyPending = false
    session.reply(line)
    ctx.resume(session)
  }
  work.then(finish, (err: unknown) => {
    if (!(err instanceof BrokerError)) ctx.log.error({ err, session: session.id }, 'command failed unexpectedly')
    finish(errLine(err))
  })
}
