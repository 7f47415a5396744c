import * as opt from '../../commands/options'
import { fail } from '../../errors'
import { GROUP_NAME, GROUP_PREFIX, GroupSink } from '../../routing/group'
import type { StartAt } from '../../store/topic'
import type { HandlerContext } from '../context'
import { checkSubscriptionLimit } from '../limits'
import type { Session } from '../session'

/** `group=<name>`: the consumer group a `sub` joins, or an `unsub … forget` ends. */
export function groupOption (): ReturnType<typeof opt.option<'group', string>> {
  return opt.option('group', 'group', '<name>', 'a group name (1-64 characters of A-Z a-z 0-9 . _ -)', 'string',
    text => GROUP_NAME.test(text) ? text : undefined)
}

/**
 * `sub <topic> [max-in-flight [ack-timeout-ms]] group=<name> [from=…]`:
 * joins the consumer group (src/routing/group.ts), creating its durable
 * subscription on the first join (starting at `from=`, default new events).
 * `max-in-flight` is this member's own cap; an ack timeout given changes the
 * group's.
 */
export function subscribeGroup (ctx: HandlerContext, session: Session, name: string, group: string, asked: number | undefined,
  askedTimeout: number | undefined, from: StartAt | undefined, to: number | undefined): void {
  const topic = ctx.store.topic(name)
  if (topic === undefined) fail('UNKNOWN_TOPIC.sub', { topic: name })
  if (session.subscriptions.has(name)) fail('ALREADY_SUBSCRIBED', { topic: name })
  if (to !== undefined) fail('BAD_OPTION.value', { option: 'to', expected: 'absent in a group', got: String(to) })
  checkSubscriptionLimit(ctx, session)
  const key = GROUP_PREFIX + group
  let sub = topic.subscriptions.get(key)
  const resumed = sub !== undefined
  let ticket = 0
  if (sub === undefined) {
    sub = topic.subscribe(key, true, asked ?? ctx.config.maxInFlight, askedTimeout ?? ctx.config.ackTimeoutMs, topic.startOffset(from ?? 'next'))
    ticket = ctx.durability.subscribed(sub)
  } else if (askedTimeout !== undefined && askedTimeout !== sub.ackTimeoutMs) {
    sub.ackTimeoutMs = askedTimeout
    ticket = ctx.durability.subscribed(sub)
  }
  const g = GroupSink.of(sub) ?? new GroupSink(sub)
  const cap = asked ?? ctx.config.maxInFlight
  g.join(session, cap, session.name ?? `#${session.id}`, ctx.auth.userOf(session))
  session.subscriptions.set(name, sub)
  const detail = resumed ? `, ${g.size} member${g.size === 1 ? '' : 's'}, ${sub.pending} pending` : ''
  ctx.durability.reply(session, `OK subscribed to ${name} (group ${group}, max in flight ${cap}${detail})`, ticket)
  sub.pump()
}

/**
 * `unsub <topic>` of a member leaves its group: what it held goes back to
 * the group's queue (`OK left group …`). `unsub <topic> forget group=<name>`
 * ends the group for good: its queue is dropped, every member is told
 * `END <topic> forgotten`.
 */
export function unsubscribeGroup (ctx: HandlerContext, session: Session, name: string, group: string | undefined, forget: boolean): boolean {
  const mine = session.subscriptions.get(name)
  const mineGroup = mine !== undefined ? GroupSink.of(mine) : null
  if (!forget) {
    if (mineGroup === null || !mineGroup.has(session)) {
      if (group !== undefined) fail('NOT_SUBSCRIBED', { topic: `${name} (group ${group})` })
      return false // not a member: the plain unsub
    }
    if (group !== undefined && group !== mineGroup.name) fail('NOT_SUBSCRIBED', { topic: `${name} (group ${group})` })
    const back = [...mine!.inFlight.keys()].filter(k => mine!.heldBy(k, session)).length
    mineGroup.leave(session)
    session.subscriptions.delete(name)
    ctx.flow.progressed(mine!.topic)
    session.reply(`OK left group ${mineGroup.name} on ${name}${back > 0 ? ` (${back} unacked event${back === 1 ? '' : 's'} back to the group)` : ''}`)
    return true
  }
  if (group === undefined) fail('BAD_OPTION.value', { option: 'group', expected: 'given with forget (unsub <topic> forget group=<name>)', got: '' })
  const topic = ctx.store.topic(name)
  if (topic === undefined) fail('UNKNOWN_TOPIC', { topic: name })
  const sub = topic.subscriptions.get(GROUP_PREFIX + group) ?? fail('NOT_SUBSCRIBED', { topic: `${name} (group ${group})` })
  const g = GroupSink.of(sub)
  if (g !== null && g.has(session)) {
    g.leave(session)
    session.subscriptions.delete(name)
  }
  const dropped = sub.pending + sub.inFlight.size
  const ticket = topic.unsubscribe(sub, 'unsub')
  ctx.flow.progressed(topic)
  ctx.durability.reply(session, `OK forgot group ${group} on ${name}${dropped > 0 ? ` (${dropped} unacked event${dropped === 1 ? '' : 's'} dropped)` : ''}`, ticket)
  return true
}
