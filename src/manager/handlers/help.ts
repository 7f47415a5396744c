import { SECURITY_ACTIONS } from '../../auth/auth'
import type { Handler } from '../context'

/** `help`: the commands as configured, on one line (auth, grant and revoke only when auth is in use). */
export const help: Handler = (ctx, session) => {
  session.reply(`OK commands: ${ctx.table.helpText(ctx.auth.enabled ? undefined : SECURITY_ACTIONS)}`)
}
