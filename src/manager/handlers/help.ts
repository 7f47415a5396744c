import type { Handler } from '../context'

/** `help`: the commands as configured, on one line. */
export const help: Handler = (ctx, session) => {
  session.reply(`OK commands: ${ctx.table.helpText()}`)
}
