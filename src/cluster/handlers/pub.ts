import { fail } from '../../errors'
import type { ParsedEvent } from '../../store/event'
import { eventParts } from '../eventText'
import { plural, type ClusterHandler } from './handler'
import { runChecked } from '../grants'

/**
 * `pub <topic> <event-json>` in cluster mode: one publish script (dedupe by
 * id within dedupeWindowMs or while held, offset, stored text, every
 * subscription's queue), WAIT, then the topic is announced.
 */
export const pub: ClusterHandler = async (node, ctx, session, fields) => {
  const name = fields.topic as string
  const parsed = fields.event as ParsedEvent
  await node.ensureRegistered(name, true)
  const { pre, body } = eventParts(parsed, ctx.clock.now())
  const given = parsed.id === undefined ? '' : String(parsed.id)
  const r = await runChecked(node, ctx, session, 'acklinePublish', name, [pre, body, given, parsed.priority, ctx.config.dedupeWindowMs, ctx.config.maxPendingPerSubscriber], 'pub')
  if (r[0] === 2) return `OK ${given} duplicate, already published to ${name}`
  if (r[0] === 3) {
    const key = String(r[1])
    const subscriber = key.startsWith('n:') ? key.slice(2) : key.startsWith('g:') ? 'group:' + key.slice(2) : 'anonymous'
    fail('QUEUE_FULL', { subscriber, topic: name, max: ctx.config.maxPendingPerSubscriber })
  }
  // Created by this publish: (re)registered, also when this node thought it known (deleted elsewhere since).
  if (r[4] === 1) await node.store.registerTopic(name)
  ctx.store.counters.atMostOnceDropped += Number(r[5])
  const n = Number(r[3])
  if (n > 0) node.announce(name)
  ctx.stats.published++
  return `OK ${String(r[2])} published to ${name} (${n} subscriber${plural(n)})`
}
