import { fail } from '../errors'
import type { HandlerContext } from './context'
import type { Session } from './session'

/**
 * Per-command limits (maxTopics, maxSubscriptionsPerConnection), kept out of
 * the handlers so each handler needs one call. Hits are counted and logged at warn.
 * checkTopicLimit: `adding` topics about to be created (route: each new topic it reaches).
 */
export function checkTopicLimit (ctx: HandlerContext, session: Session, name: string, adding = 1): void {
  const max = ctx.config.maxTopics
  if (ctx.store.topics.size + adding <= max || ctx.store.topics.has(name)) return
  ctx.stats.limitHits.maxTopics++
  ctx.log.warn({ limit: 'maxTopics', max, session: session.id, topic: name }, 'limit hit: topic not created')
  fail('TOO_MANY_TOPICS', { max, topic: name })
}

export function checkSubscriptionLimit (ctx: HandlerContext, session: Session): void {
  const max = ctx.config.maxSubscriptionsPerConnection
  if (session.subscriptions.size < max) return
  ctx.stats.limitHits.maxSubscriptionsPerConnection++
  ctx.log.warn({ limit: 'maxSubscriptionsPerConnection', max, session: session.id }, 'limit hit: subscription refused')
  fail('TOO_MANY_SUBSCRIPTIONS', { max })
}
