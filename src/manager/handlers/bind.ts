import * as arg from '../../commands/args'
import { defineCommand, type FieldsOf } from '../../commands/spec'
import { fail } from '../../errors'
import { bindingKey, exchangeName } from '../../routing/args'
import type { Exchange } from '../../routing/exchanges'
import type { HandlerContext } from '../context'
import type { Session } from '../session'

/** The arguments of `bind` and `unbind`; the gate checks the publish right on the topic (access `topic-publish`). */
export const bindArgs = [exchangeName(), arg.topic(), arg.optional(bindingKey())] as const

/** The exchange named `name`, else UNKNOWN_EXCHANGE. */
export function exchangeOf (ctx: HandlerContext, name: string): Exchange {
  return ctx.store.exchanges.get(name) ?? fail('UNKNOWN_EXCHANGE', { name })
}

/** The key a binding is stored with: fanout takes any (default ''), direct needs a plain one, topic a pattern (default '#'? no: required). */
export function keyFor (x: Pick<Exchange, 'type'>, key: string | undefined): string {
  if (x.type === 'fanout') return key ?? ''
  if (key === undefined) fail('BAD_KEY.missing', { type: x.type })
  if (x.type === 'direct' && (key.includes('*') || key.includes('#'))) {
    fail('BAD_KEY', { what: 'binding key', key, detail: 'a direct exchange matches keys exactly: "*" and "#" are for topic exchanges' })
  }
  return key
}

/** ` with key k` for the replies ('' for a fanout binding without a key). */
export function withKey (key: string): string {
  return key === '' ? '' : ` with key ${key}`
}

/**
 * `bind <exchange> <topic> [<binding-key>]`: events routed through the
 * exchange whose routing key matches go to the topic (fanout: every event).
 * The user needs the publish right on the topic. Durable, confirmed once
 * journaled; binding again is a no-op.
 */
export const bind = defineCommand({ name: 'bind', words: ['bind'], args: bindArgs, access: 'topic-publish', handler })

function handler (ctx: HandlerContext, session: Session, { exchange: name, topic, key: given }: FieldsOf<typeof bindArgs>): void {
  const x = exchangeOf(ctx, name)
  const key = keyFor(x, given)
  if (x.indexOf(topic, key) >= 0) {
    ctx.durability.reply(session, `OK ${topic} already bound to ${name}${withKey(key)}`, ctx.durability.pendingTicket())
    return
  }
  const max = ctx.config.maxBindingsPerExchange
  if (x.bindings.length >= max) {
    ctx.log.warn({ limit: 'maxBindingsPerExchange', max, session: session.id, exchange: name }, 'limit hit: binding refused')
    fail('TOO_MANY_BINDINGS', { max, name })
  }
  x.bind(topic, key)
  ctx.durability.reply(session, `OK bound ${topic} to ${name}${withKey(key)}`, ctx.durability.exchangeChanged(['XB', name, topic, key]))
}
