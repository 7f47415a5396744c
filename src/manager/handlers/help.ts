import { defineCommand } from '../../commands/spec'
import type { HandlerContext } from '../context'
import type { Session } from '../session'

/**
 * `help`: the commands this connection can use now, as configured, on one
 * line (before `auth` when it is required: only what works unauthenticated).
 */
export const help = defineCommand({ name: 'help', words: ['help'], args: [], access: 'open', ignoreExtra: true, handler })

function handler (ctx: HandlerContext, session: Session): void {
  session.reply(`OK commands: ${ctx.commands.helpText(command => ctx.auth.available(command, session))}`)
}
