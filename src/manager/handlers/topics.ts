import { defineCommand } from '../../commands/spec'
import type { HandlerContext } from '../context'
import type { Session } from '../session'

/**
 * `topics`: `OK [{"topic","firstOffset","lastOffset","retainedEvents","retainedBytes","subscribers","pending"}, …]`,
 * sorted by name; a private topic only to a user who may see it (its owner, a grantee).
 */
export const topics = defineCommand({ name: 'topics', words: ['topics'], args: [], access: 'authenticated', handler })

function handler (ctx: HandlerContext, session: Session): void {
  const user = ctx.auth.userOf(session)
  const names = [...ctx.store.topics.keys()].filter(n => n.charCodeAt(0) !== 0x7e || ctx.auth.rights(user, n).visible).sort()
  session.reply('OK ' + JSON.stringify(names.map(n => ctx.store.topic(n)!.info())))
}
