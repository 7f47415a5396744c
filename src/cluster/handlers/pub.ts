import { fail } from '../../errors'
import type { HandlerContext } from '../../manager/context'
import type { Session } from '../../manager/session'
import type { ParsedEvent } from '../../store/event'
import { eventParts } from '../eventText'
import type { ClusterNode } from '../node'
import { plural, type ClusterHandler } from './handler'
import { runChecked } from '../grants'

/** What one publish script did: `duplicate` (pub only: nothing stored), else the event's offset, id and subscribers. */
export interface ClusterPublished {
  duplicate: boolean
  offset: number
  id: string
  subscribers: number
}

/**
 * The one way an event enters a topic in cluster mode, for `pub` and each
 * topic of a `route`: registration (TOO_MANY_TOPICS), one publish script
 * (dedupe, QUEUE_FULL, offset, stored text, every subscription's queue),
 * WAIT, then the announcement. `route` (absent for `pub`): the route's id
 * for an event without one (its UUID); a route refuses an id still held
 * (DUPLICATE_ID) and does not deduplicate within the window, as on one node.
 */
export async function publishTo (node: ClusterNode, ctx: HandlerContext, session: Session, name: string, parsed: ParsedEvent, route?: { uuid: string | undefined }): Promise<ClusterPublished> {
  await node.ensureRegistered(name, true)
  const uuid = parsed.id === undefined ? route?.uuid : undefined
  const { pre, body } = eventParts(parsed, ctx.clock.now(), uuid)
  const given = parsed.id !== undefined ? String(parsed.id) : uuid ?? ''
  // ARGV[8]; '@route' is no user name, for a variant that appends one (a grant check) after it.
  const mode = route === undefined ? '' : '@route'
  const r = await runChecked(node, ctx, session, 'acklinePublish', name, [pre, body, given, parsed.priority, ctx.config.dedupeWindowMs, ctx.config.maxPendingPerSubscriber, mode], 'pub')
  if (r[0] === 2) return { duplicate: true, offset: Number(r[1]), id: given, subscribers: 0 }
  if (r[0] === 3) fail('QUEUE_FULL', { subscriber: subscriberOf(String(r[1])), topic: name, max: ctx.config.maxPendingPerSubscriber })
  if (r[0] === 4) fail('DUPLICATE_ID', { id: given, topic: name })
  // Created by this publish: (re)registered, also when this node thought it known (deleted elsewhere since).
  if (r[4] === 1) await node.store.registerTopic(name)
  ctx.store.counters.atMostOnceDropped += Number(r[5])
  const n = Number(r[3])
  if (n > 0) node.announce(name)
  ctx.stats.published++
  return { duplicate: false, offset: Number(r[1]), id: String(r[2]), subscribers: n }
}

/**
 * `pub <topic> <event-json>` in cluster mode: publishTo, replying as on one
 * node.
 */
export const pub: ClusterHandler = async (node, ctx, session, fields) => {
  const name = fields.topic as string
  const p = await publishTo(node, ctx, session, name, fields.event as ParsedEvent)
  if (p.duplicate) return `OK ${p.id} duplicate, already published to ${name}`
  return `OK ${p.id} published to ${name} (${p.subscribers} subscriber${plural(p.subscribers)})`
}

/** How QUEUE_FULL names a subscription key: the client id, `group:<name>`, or `anonymous`. */
export function subscriberOf (key: string): string {
  return key.startsWith('n:') ? key.slice(2) : key.startsWith('g:') ? 'group:' + key.slice(2) : 'anonymous'
}
