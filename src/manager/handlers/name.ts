import { fail, quote } from '../../errors'
import { splitToken } from '../../protocol/parseCommand'
import { checkClientName } from '../../store/names'
import type { Handler } from '../context'

/** `name <client-id>`: gives the connection a durable subscriber identity. */
export const name: Handler = (ctx, session, args) => {
  const [id, extra] = splitToken(args)
  checkClientName(id)
  if (extra !== '') fail('BAD_ARGS', `unexpected ${quote(extra, 20)}; usage: ${ctx.table.usage('name')}`)
  if (session.name !== null) fail('ALREADY_NAMED', `this connection is already named ${session.name}`)
  if (session.subscriptions.size > 0) fail('NAME_AFTER_SUB', 'set the name before subscribing: anonymous subscriptions are already open')
  if (ctx.names.has(id)) fail('NAME_IN_USE', `name ${id} is held by another live connection`)
  ctx.names.set(id, session)
  session.name = id
  session.reply(`OK named ${id}`)
}
