import * as arg from '../../commands/args'
import { defineCommand, type FieldsOf } from '../../commands/spec'
import { fail } from '../../errors'
import type { HandlerContext } from '../context'
import type { Session } from '../session'

const args = [arg.clientId()] as const

/** `name <client-id>`: gives the connection a durable subscriber identity. */
export const name = defineCommand({ name: 'name', words: ['name'], args, access: 'authenticated', handler })

function handler (ctx: HandlerContext, session: Session, { clientId: id }: FieldsOf<typeof args>): void {
  if (session.name !== null) fail('ALREADY_NAMED', { name: session.name })
  if (session.subscriptions.size > 0) fail('NAME_AFTER_SUB')
  if (ctx.names.has(id)) fail('NAME_IN_USE', { name: id })
  ctx.names.set(id, session)
  session.name = id
  session.reply(`OK named ${id}`)
}
