import { fail } from '../../errors'
import { WildcardSubscription, wildcardsOf } from '../../routing/wildcard'
import type { StartAt, Topic } from '../../store/topic'
import type { HandlerContext } from '../context'
import { checkSubscriptionLimit } from '../limits'
import type { Session } from '../session'

/**
 * `sub <pattern> [max-in-flight [ack-timeout-ms]] [from=…]`: a wildcard
 * subscription (src/routing/wildcard.ts). Connection-scoped, named client or
 * not; `to=` ranges are refused.
 */
export function subscribePattern (ctx: HandlerContext, session: Session, pattern: string, asked: number | undefined, askedTimeout: number | undefined,
  from: StartAt | undefined, to: number | undefined): void {
  const mine = wildcardsOf(session)
  if (mine.has(pattern)) fail('ALREADY_SUBSCRIBED', { topic: pattern })
  if (to !== undefined) fail('BAD_OPTION.value', { option: 'to', expected: 'absent on a wildcard subscription', got: String(to) })
  checkSubscriptionLimit(ctx, session)
  const user = ctx.auth.userOf(session)
  const w = new WildcardSubscription(ctx.store, pattern, {
    session,
    maxInFlight: asked ?? ctx.config.maxInFlight,
    ackTimeoutMs: askedTimeout ?? ctx.config.ackTimeoutMs,
    mayRead: (topic: Topic) => {
      const private_ = topic.name.charCodeAt(0) === 0x7e
      if (user === null) return !private_
      return ctx.auth.rights(user, topic.name).sub
    },
    startOf: (topic: Topic) => topic.startOffset(from ?? 'next'),
    user,
  })
  mine.set(pattern, w)
  w.open()
  const n = w.members.size
  session.reply(`OK subscribed to ${pattern} (max in flight ${asked ?? ctx.config.maxInFlight}, ${n} topic${n === 1 ? '' : 's'} now)`)
  w.pump()
}

/** `unsub <pattern>`: ends the wildcard subscription and every topic's member; their unacked events are dropped. */
export function unsubscribePattern (ctx: HandlerContext, session: Session, pattern: string): void {
  const mine = wildcardsOf(session)
  const w = mine.get(pattern) ?? fail('NOT_SUBSCRIBED', { topic: pattern })
  const dropped = w.held()
  const topics = [...w.members.values()].map(m => m.topic)
  const n = topics.length
  w.close('unsub')
  mine.delete(pattern)
  for (const t of topics) ctx.flow.progressed(t)
  session.reply(`OK unsubscribed from ${pattern} (${n} topic${n === 1 ? '' : 's'}${dropped > 0 ? `, ${dropped} unacked event${dropped === 1 ? '' : 's'} dropped` : ''})`)
}
