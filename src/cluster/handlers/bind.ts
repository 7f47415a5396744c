import { fail } from '../../errors'
import type { HandlerContext } from '../../manager/context'
import { keyFor, withKey } from '../../manager/handlers/bind'
import type { Fields } from '../../commands/spec'
import type { ExchangeType } from '../../routing/exchanges'
import { exchangeKey } from '../keys'
import { runExchangeScript } from '../exchangeStore'
import type { ClusterNode } from '../node'
import type { ClusterHandler } from './handler'

/**
 * The exchange's type (UNKNOWN_EXCHANGE when there is none) and the binding
 * key as one node takes it for that type (BAD_KEY). An exchange never
 * changes type nor goes away, so the script that follows needs to check
 * only that it exists (a failover may have lost it).
 */
async function bindingOf (node: ClusterNode, fields: Fields): Promise<{ name: string, topic: string, key: string }> {
  const name = fields.exchange as string
  const topic = fields.topic as string
  const type = await node.store.bounded('HGET', node.store.redis.hget(exchangeKey(name), 'type')) as ExchangeType | null
  if (type === null) fail('UNKNOWN_EXCHANGE', { name })
  return { name, topic, key: keyFor({ type }, fields.key as string | undefined) }
}

/**
 * `bind <exchange> <topic> [<binding-key>]` in cluster mode: one script adds
 * the binding under `maxBindingsPerExchange`; replies as on one node (the
 * gate checked the publish right on the topic).
 */
export const bind: ClusterHandler = async (node, ctx: HandlerContext, session, fields) => {
  const { name, topic, key } = await bindingOf(node, fields)
  const max = ctx.config.maxBindingsPerExchange
  const r = await runExchangeScript(node, 'acklineExchangeBind', [name, topic, key, max], true)
  if (r[0] === -1) fail('UNKNOWN_EXCHANGE', { name })
  if (r[0] === 0) return `OK ${topic} already bound to ${name}${withKey(key)}`
  if (r[0] === -2) {
    ctx.log.warn({ limit: 'maxBindingsPerExchange', max, session: session.id, exchange: name }, 'limit hit: binding refused')
    fail('TOO_MANY_BINDINGS', { max, name })
  }
  return `OK bound ${topic} to ${name}${withKey(key)}`
}

/** `unbind <exchange> <topic> [<binding-key>]` in cluster mode: one script removes the binding (NOT_BOUND when there is none). */
export const unbind: ClusterHandler = async (node, _ctx, _session, fields) => {
  const { name, topic, key } = await bindingOf(node, fields)
  const r = await runExchangeScript(node, 'acklineExchangeUnbind', [name, topic, key], true)
  if (r[0] === -1) fail('UNKNOWN_EXCHANGE', { name })
  if (r[0] === 0) fail('NOT_BOUND', { name, topic, with: withKey(key) })
  return `OK unbound ${topic} from ${name}${withKey(key)}`
}
