import { defineCommand } from '../../commands/spec'
import type { ExchangeInfo } from '../../routing/exchanges'
import type { HandlerContext } from '../context'
import type { Session } from '../session'
import type { TopicGrants } from '../../store/topic'

/**
 * `exchanges`: `OK [{"name","type","bindings":[{"topic","key"}]}]`, sorted by
 * name. Bindings of private topics the user may not see are left out.
 */
export const exchanges = defineCommand({ name: 'exchanges', words: ['exchanges'], args: [], access: 'authenticated', handler })

function handler (ctx: HandlerContext, session: Session): void {
  session.reply(exchangesReply(ctx, session, ctx.store.exchanges.list()))
}

/**
 * The `exchanges` reply for a list (single node and cluster mode): bindings
 * of private topics the user may not see left out. `grants`: cluster mode's
 * grants read from Redis, by topic.
 */
export function exchangesReply (ctx: HandlerContext, session: Session, list: ExchangeInfo[], grants?: TopicGrants): string {
  const user = ctx.auth.userOf(session)
  for (const x of list) x.bindings = x.bindings.filter(b => b.topic.charCodeAt(0) !== 0x7e || ctx.auth.rights(user, b.topic, grants?.get(b.topic)).visible)
  return 'OK ' + JSON.stringify(list)
}
