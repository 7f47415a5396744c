import * as arg from '../../commands/args'
import { defineCommand, type FieldsOf } from '../../commands/spec'
import type { HandlerContext } from '../context'
import type { Session } from '../session'

const args = [arg.userName(), arg.password()] as const

/** `auth <user> <password>`: the password is the rest of the line (inner spaces kept). */
export const auth = defineCommand({ name: 'auth', words: ['auth', 'AUTH'], args, access: 'login', handler })

function handler (ctx: HandlerContext, session: Session, { user, password }: FieldsOf<typeof args>): void {
  const who = ctx.auth.login(session, user, password, ctx.clock.now())
  session.reply(`OK authenticated as ${who}`)
}
