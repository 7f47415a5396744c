import { defineCommand } from '../../commands/spec'
import type { HandlerContext } from '../context'
import type { Session } from '../session'

/**
 * `exchanges`: `OK [{"name","type","bindings":[{"topic","key"}]}]`, sorted by
 * name. Bindings of private topics the user may not see are left out.
 */
export const exchanges = defineCommand({ name: 'exchanges', words: ['exchanges'], args: [], access: 'authenticated', handler })

function handler (ctx: HandlerContext, session: Session): void {
  const user = ctx.auth.userOf(session)
  const list = ctx.store.exchanges.list()
  for (const x of list) x.bindings = x.bindings.filter(b => b.topic.charCodeAt(0) !== 0x7e || ctx.auth.rights(user, b.topic).visible)
  session.reply('OK ' + JSON.stringify(list))
}
