import { randomUUID } from 'node:crypto'
import { BrokerError, fail } from '../../errors'
import type { HandlerContext } from '../../manager/context'
import { checkRouteRights } from '../../manager/handlers/route'
import type { Session } from '../../manager/session'
import type { RoutedEvent } from '../../routing/args'
import { readExchange } from '../exchangeStore'
import { grantsForTopics } from '../grants'
import { TOPICS_KEY } from '../keys'
import type { ClusterNode } from '../node'
import { isRedisFailure, plural, type ClusterHandler } from './handler'
import { publishTo, subscriberOf } from './pub'

/**
 * `route <exchange> <routing-key> <event-json> [mandatory=1]` in cluster
 * mode (docs/cluster.md#exchanges). The bindings are read from Redis and
 * matched as on one node (each topic once, one id in all: the event's, else
 * a UUID). Then, as on one node, every check before any change: the publish
 * right on every topic, `maxTopics` for the new ones, and each topic's
 * admission (DUPLICATE_ID, QUEUE_FULL), read in Redis; a refusal there
 * publishes nothing. Then the event is published to each topic by `pub`'s
 * own path (publishTo), concurrently: the topics are on different slots, so
 * this part is not atomic. A topic that refuses now (its state changed since
 * the check) or does not answer leaves the others published: the reply is
 * ROUTE_PARTIAL, saying which topics have it.
 */
export const route: ClusterHandler = async (node, ctx, session, fields) => {
  const name = fields.exchange as string
  const key = fields.routingKey as string
  const { parsed, mandatory } = fields.event as RoutedEvent
  const names = (await readExchange(node, name)).route(key)
  if (names.length === 0 && mandatory) fail('UNROUTABLE', { name, key })
  checkRouteRights(ctx, session, name, key, names, await grantsForTopics(node, ctx, session, names))
  const uuid = parsed.id === undefined ? randomUUID() : undefined
  const id = uuid ?? String(parsed.id)
  await admitAll(node, ctx, session, names, id)
  const outcomes = await Promise.allSettled(names.map(t => publishTo(node, ctx, session, t, parsed, { uuid })))
  const failures = outcomes.flatMap((o, i) => o.status === 'rejected' ? [{ topic: names[i], err: o.reason as unknown }] : [])
  const n = names.length
  if (failures.length === 0) return `OK ${id} routed to ${n} topic${plural(n)}`
  const published = names.filter((_t, i) => outcomes[i].status === 'fulfilled')
  const refused = failures.filter(f => f.err instanceof BrokerError && f.err.code !== 'NOT_REPLICATED')
  // One topic, or refused everywhere (nothing stored): the first refusal, as on one node.
  if (n === 1 || refused.length === n) throw failures[0].err
  const detail: string[] = []
  if (published.length > 0) detail.push(`published to ${published.join(', ')}`)
  for (const f of failures) detail.push(outcomeOf(f.topic, f.err))
  ctx.log.warn({ session: session.id, exchange: name, routingKey: key, id, published, failed: failures.map(f => f.topic) }, 'route published to some topics only')
  fail('ROUTE_PARTIAL', { id, done: published.length, n, detail: detail.join('; '), idJson: typeof parsed.id === 'number' ? id : JSON.stringify(id) })
}

/** What a failed publish did to its topic, for ROUTE_PARTIAL. */
function outcomeOf (topic: string, err: unknown): string {
  if (err instanceof BrokerError && err.code === 'NOT_REPLICATED') return `on the master of ${topic} but not confirmed by a replica (NOT_REPLICATED)`
  if (err instanceof BrokerError) return `not published to ${topic} (${err.code})`
  if (isRedisFailure(err)) return `may or may not be published to ${topic} (CLUSTER_UNAVAILABLE)`
  return `may or may not be published to ${topic} (INTERNAL)`
}

/**
 * The checks one node makes before a route stores anything, in Redis:
 * `maxTopics` for the topics the route would create (counted over the
 * cluster), then each existing topic's admission (the id still held:
 * DUPLICATE_ID; a full subscription: QUEUE_FULL), the first refusal in the
 * route's order. Read-only; the publish scripts check again.
 */
async function admitAll (node: ClusterNode, ctx: HandlerContext, session: Session, names: readonly string[], id: string): Promise<void> {
  if (names.length === 0) return
  const store = node.store
  const known = await store.bounded('SMISMEMBER', store.redis.smismember(TOPICS_KEY, ...names))
  const fresh = names.filter((_t, i) => known[i] === 0)
  const max = ctx.config.maxTopics
  if (fresh.length > 0 && await store.bounded('SCARD', store.redis.scard(TOPICS_KEY)) + fresh.length > max) {
    ctx.stats.limitHits.maxTopics++
    ctx.log.warn({ limit: 'maxTopics', max, session: session.id, topic: fresh[0] }, 'limit hit: topic not created')
    fail('TOO_MANY_TOPICS', { max, topic: fresh[0] })
  }
  const maxPending = ctx.config.maxPendingPerSubscriber
  const replies = await Promise.all(names.map(t => store.run('acklineAdmit', t, [id, maxPending], false)))
  replies.forEach((r, i) => {
    if (r[0] === 4) fail('DUPLICATE_ID', { id, topic: names[i] })
    if (r[0] === 3) fail('QUEUE_FULL', { subscriber: subscriberOf(String(r[1])), topic: names[i], max: maxPending })
  })
}
