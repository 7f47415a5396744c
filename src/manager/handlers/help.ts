import type { Handler } from '../context'

/**
 * `help`: the commands this connection can use now, as configured, on one
 * line (before `auth` when it is required: only what works unauthenticated).
 */
export const help: Handler = (ctx, session) => {
  session.reply(`OK commands: ${ctx.table.helpText(action => ctx.auth.available(action, session))}`)
}
