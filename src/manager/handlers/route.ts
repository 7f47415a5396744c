import { randomUUID } from 'node:crypto'
import { defineCommand, type Command, type FieldsOf } from '../../commands/spec'
import { fail } from '../../errors'
import { exchangeName, routedEvent, routingKey } from '../../routing/args'
import type { HandlerContext } from '../context'
import { checkTopicLimit } from '../limits'
import { admitEvent, storeEvent, type Admission, type Published } from '../publish'
import type { Session } from '../session'
import type { GrantRights, TopicGrants } from '../../store/topic'
import { exchangeOf } from './bind'

const args = [exchangeName(), routingKey(), routedEvent()] as const

/**
 * `route <exchange> <routing-key> <event-json> [mandatory=1]`: publishes the
 * event to every topic the exchange's bindings match, each topic once. The
 * event keeps one id in all of them (a broker-made UUID when it has none).
 * All or nothing: the user needs the publish right on every matched topic,
 * and every topic must admit the event (QUEUE_FULL, DUPLICATE_ID, ...)
 * before any gets it. `OK <id> routed to <n> topics`; with no match,
 * `routed to 0 topics`, or ERR UNROUTABLE under `mandatory=1`.
 */
export const route: Command<'route'> = Object.freeze({
  ...defineCommand({ name: 'route', words: ['route'], args, access: 'authenticated', handler }),
  // The flag rides at the end of the event's text (routedEvent), so the usage names it by hand.
  usage: '<exchange> <routing-key> <event-json> [mandatory=1]',
})

function handler (ctx: HandlerContext, session: Session, { exchange: name, routingKey: key, event: { parsed, mandatory } }: FieldsOf<typeof args>): void {
  const x = exchangeOf(ctx, name)
  const names = x.route(key)
  if (names.length === 0 && mandatory) fail('UNROUTABLE', { name, key })
  checkRouteRights(ctx, session, name, key, names)
  const id = parsed.id === undefined ? randomUUID() : undefined
  // Every topic admits the event before any gets it: a refused route changes nothing.
  const fresh = names.filter(t => !ctx.store.topics.has(t))
  if (fresh.length > 0) checkTopicLimit(ctx, session, fresh[0], fresh.length)
  const admitted = new Map<string, Admission>()
  for (const t of names) {
    const topic = ctx.store.topic(t)
    if (topic !== undefined) admitted.set(t, admitEvent(ctx, topic, parsed, id))
  }
  const stored: Published[] = []
  let ticket = 0
  for (const t of names) {
    const topic = ctx.store.ensureTopic(t)
    const a = admitted.get(t) ?? admitEvent(ctx, topic, parsed, id) // a new topic has no subscribers: nothing to refuse
    const p = storeEvent(ctx, topic, parsed, a)
    stored.push(p)
    if (p.ticket > ticket) ticket = p.ticket
  }
  const shown = id ?? String(parsed.id)
  const n = names.length
  // Reply before fan-out, as pub does, so a publisher subscribed to a bound topic sees OK before the EVENT.
  ctx.durability.reply(session, `OK ${shown} routed to ${n} topic${n === 1 ? '' : 's'}`, ticket)
  for (let i = 0; i < n; i++) {
    const topic = ctx.store.topic(names[i])!
    topic.publish(stored[i].ev, parsed.id !== undefined)
    if (topic.subscriptions.size > 0) ctx.flow.afterPublish(session, topic)
  }
  ctx.stats.published += n
}

/**
 * The user needs the publish right on every topic the route reaches (single
 * node and cluster mode): FORBIDDEN names the first it lacks, or, when that
 * one is a private topic the user may not even see, only the exchange.
 * `grants`: cluster mode's grants read from Redis, by topic (one node reads
 * its own store's).
 */
export function checkRouteRights (ctx: HandlerContext, session: Session, name: string, key: string, names: readonly string[],
  grants?: TopicGrants): void {
  const user = ctx.auth.userOf(session)
  for (const t of names) {
    if (mayPublish(ctx, user, t, grants?.get(t))) continue
    ctx.auth.deny(session, user, 'route', t, 'no publish permission')
    if (t.charCodeAt(0) === 0x7e && !ctx.auth.rights(user, t, grants?.get(t)).visible) fail('FORBIDDEN.route', { user: String(user), name, key })
    fail('FORBIDDEN', { user: String(user), right: 'publish to', topic: t })
  }
}

/** The publish right on `topic` (anonymous clients of an open broker: every public topic). */
function mayPublish (ctx: HandlerContext, user: string | null, topic: string, grants: ReadonlyMap<string, GrantRights> | undefined): boolean {
  if (user === null && topic.charCodeAt(0) !== 0x7e) return true
  return ctx.auth.rights(user, topic, grants).pub
}
