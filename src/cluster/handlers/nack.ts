import { fail } from '../../errors'
import { DLQ_SUFFIX } from '../../store/names'
import type { ClusterHandler } from './handler'
import { subscribed } from './subscribed'

/**
 * `nack <topic> <event-id> [delay-ms]` in cluster mode: the event goes back
 * to the front of the queue (or is due after the delay), or to
 * `<topic>.dlq` once it has been delivered maxDeliveries times.
 */
export const nack: ClusterHandler = async (node, ctx, session, fields) => {
  const name = fields.topic as string
  const id = fields.id as string
  const delay = (fields.delayMs as number | undefined) ?? 0
  const local = await subscribed(node, session, name)
  const isDlq = name.endsWith(DLQ_SUFFIX) ? 1 : 0
  const r = await node.store.run('acklineNack', name, [local.key, local.consumer, id, delay, ctx.config.maxDeliveries, isDlq], true)
  if (r[0] === -1) fail('NOT_IN_FLIGHT', { id, topic: name })
  if (r[0] === 1) {
    const deliveries = Number(r[2])
    if (await node.deadLetter(name, local.key, Number(r[1]), deliveries, String(r[3]), 'nack')) {
      node.pullSoon(local)
      return `OK nacked ${id} on ${name}: moved to ${name}${DLQ_SUFFIX} after ${deliveries} deliveries`
    }
  }
  ctx.store.counters.redelivered++
  if (delay === 0) node.announce(name)
  node.pullSoon(local)
  return `OK nacked ${id} on ${name}${delay > 0 ? ` (again in ${delay} ms)` : ''}`
}
