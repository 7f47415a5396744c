import * as arg from '../../commands/args'
import { defineCommand, type FieldsOf } from '../../commands/spec'
import { fail } from '../../errors'
import { exchangeName } from '../../routing/args'
import { EXCHANGE_TYPES } from '../../routing/exchanges'
import type { HandlerContext } from '../context'
import type { Session } from '../session'

const args = [exchangeName(), arg.choice('type', 'exchange type', EXCHANGE_TYPES)] as const

/**
 * `exchange <name> fanout|direct|topic`: declares an exchange (durable,
 * confirmed once journaled). Declaring it again with the same type is a
 * no-op; with another type, EXCHANGE_TYPE.
 */
export const exchange = defineCommand({ name: 'exchange', words: ['exchange'], args, access: 'authenticated', handler })

function handler (ctx: HandlerContext, session: Session, { exchange: name, type }: FieldsOf<typeof args>): void {
  const table = ctx.store.exchanges
  const existing = table.get(name)
  if (existing !== undefined) {
    if (existing.type !== type) fail('EXCHANGE_TYPE', { name, type: existing.type })
    ctx.durability.reply(session, `OK exchange ${name} (${type}) exists`, ctx.durability.pendingTicket())
    return
  }
  const max = ctx.config.maxExchanges
  if (table.size >= max) {
    ctx.log.warn({ limit: 'maxExchanges', max, session: session.id, exchange: name }, 'limit hit: exchange not declared')
    fail('TOO_MANY_EXCHANGES', { max, name })
  }
  table.declare(name, type)
  ctx.log.info({ session: session.id, user: ctx.auth.userOf(session), exchange: name, type }, 'exchange declared')
  ctx.durability.reply(session, `OK exchange ${name} (${type}) declared`, ctx.durability.exchangeChanged(['XE', name, type]))
}
