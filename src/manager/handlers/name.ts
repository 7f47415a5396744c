import { fail } from '../../errors'
import { splitToken } from '../../protocol/parseCommand'
import { checkClientName } from '../../store/names'
import type { Handler } from '../context'

/** `name <client-id>`: gives the connection a durable subscriber identity. */
export const name: Handler = (ctx, session, args) => {
  const [id, extra] = splitToken(args)
  checkClientName(id)
  if (extra !== '') fail('BAD_ARGS.unexpected', { extra, usage: ctx.table.usage('name') })
  if (session.name !== null) fail('ALREADY_NAMED', { name: session.name })
  if (session.subscriptions.size > 0) fail('NAME_AFTER_SUB')
  if (ctx.names.has(id)) fail('NAME_IN_USE', { name: id })
  ctx.names.set(id, session)
  session.name = id
  session.reply(`OK named ${id}`)
}
