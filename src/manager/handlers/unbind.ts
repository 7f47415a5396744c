import { defineCommand, type FieldsOf } from '../../commands/spec'
import { fail } from '../../errors'
import type { HandlerContext } from '../context'
import type { Session } from '../session'
import { bindArgs, exchangeOf, keyFor, withKey } from './bind'

/** `unbind <exchange> <topic> [<binding-key>]`: removes a binding (NOT_BOUND when there is none). Durable, confirmed once journaled. */
export const unbind = defineCommand({ name: 'unbind', words: ['unbind'], args: bindArgs, access: 'topic-publish', handler })

function handler (ctx: HandlerContext, session: Session, { exchange: name, topic, key: given }: FieldsOf<typeof bindArgs>): void {
  const x = exchangeOf(ctx, name)
  const key = keyFor(x, given)
  if (!x.unbind(topic, key)) fail('NOT_BOUND', { name, topic, with: withKey(key) })
  ctx.durability.reply(session, `OK unbound ${topic} from ${name}${withKey(key)}`, ctx.durability.exchangeChanged(['XU', name, topic, key]))
}
