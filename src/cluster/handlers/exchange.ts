import { fail } from '../../errors'
import type { ExchangeType } from '../../routing/exchanges'
import { runExchangeScript } from '../exchangeStore'
import type { ClusterHandler } from './handler'

/**
 * `exchange <name> fanout|direct|topic` in cluster mode: one script on the
 * `{exchanges}` slot declares it unless it exists, under `maxExchanges`
 * counted over the cluster; replies as on one node.
 */
export const exchange: ClusterHandler = async (node, ctx, session, fields) => {
  const name = fields.exchange as string
  const type = fields.type as ExchangeType
  const max = ctx.config.maxExchanges
  const r = await runExchangeScript(node, 'acklineExchangeDeclare', [name, type, max], true)
  if (r[0] === 0) {
    if (r[1] !== type) fail('EXCHANGE_TYPE', { name, type: String(r[1]) })
    return `OK exchange ${name} (${type}) exists`
  }
  if (r[0] === -1) {
    ctx.log.warn({ limit: 'maxExchanges', max, session: session.id, exchange: name }, 'limit hit: exchange not declared')
    fail('TOO_MANY_EXCHANGES', { max, name })
  }
  ctx.log.info({ session: session.id, user: ctx.auth.userOf(session), exchange: name, type }, 'exchange declared')
  return `OK exchange ${name} (${type}) declared`
}
