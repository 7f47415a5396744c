import { fail } from '../../errors'
import type { HandlerContext } from '../../manager/context'
import type { Session } from '../../manager/session'
import { runChecked } from '../grants'
import { consumerId, subKey } from '../keys'
import { LocalSubscription } from '../localSubscriptions'
import type { ClusterNode } from '../node'
import { plural } from './handler'

/**
 * `sub <topic> [max-in-flight [ack-timeout-ms]] group=<name>` in cluster
 * mode: joins the group's one durable subscription (`g:<name>`), whose
 * members on any node share its queue, each with its own in-flight cap; an
 * ack timeout given changes the group's; `from` is where a new group starts
 * (startSpec). Replies as on one node.
 */
export async function joinGroup (node: ClusterNode, ctx: HandlerContext, session: Session, name: string, group: string,
  asked: number | undefined, askedTimeout: number | undefined, from: string): Promise<string> {
  const key = subKey.group(group)
  const consumer = consumerId(node.id, session.id)
  const cap = asked ?? ctx.config.maxInFlight
  const r = await runChecked(node, ctx, session, 'acklineJoin', name, [key, consumer, cap, askedTimeout ?? '', ctx.config.ackTimeoutMs, from], 'sub')
  if (r[0] === -1) fail('UNKNOWN_TOPIC.sub', { topic: name })
  const local = new LocalSubscription(session, name, key, consumer, true, group, cap)
  if (node.isGone(session)) {
    await node.release(local)
    return 'OK'
  }
  await node.added(local)
  const members = Number(r[1])
  const detail = r[0] === 1 ? `, ${members} member${plural(members)}, ${Number(r[2])} pending` : ''
  return `OK subscribed to ${name} (group ${group}, max in flight ${cap}${detail})`
}

/**
 * `unsub <topic> [group=<name>]` of a member: it leaves its group, what it
 * held goes back to the group's queue. `unsub <topic> forget group=<name>`:
 * the group ends for good, its queue dropped; every member is told
 * `END <topic> forgotten` (on other nodes at their next pull).
 */
export async function leaveGroup (node: ClusterNode, session: Session, name: string, group: string | undefined, forget: boolean): Promise<string | null> {
  const mine = node.subs.get(session, name)
  if (!forget) {
    if (mine === undefined || mine.group === null) {
      if (group !== undefined) fail('NOT_SUBSCRIBED', { topic: `${name} (group ${group})` })
      return null // not a member: the plain unsub
    }
    if (group !== undefined && group !== mine.group) fail('NOT_SUBSCRIBED', { topic: `${name} (group ${group})` })
    node.removed(mine)
    const r = await node.store.run('acklineDetach', name, [mine.key, mine.consumer], true)
    const back = Number(r[0])
    if (back > 0) node.announce(name)
    return `OK left group ${mine.group} on ${name}${back > 0 ? ` (${back} unacked event${plural(back)} back to the group)` : ''}`
  }
  if (group === undefined) fail('BAD_OPTION.value', { option: 'group', expected: 'given with forget (unsub <topic> forget group=<name>)', got: '' })
  if (!await node.topicExists(name)) fail('UNKNOWN_TOPIC', { topic: name })
  if (mine !== undefined && mine.group === group) node.removed(mine)
  const r = await node.store.run('acklineUnsubscribe', name, [subKey.group(group)], true)
  if (r[0] === -1) fail('NOT_SUBSCRIBED', { topic: `${name} (group ${group})` })
  for (const s of node.subs.ofTopic(name)) {
    if (s.group !== group) continue
    node.removed(s)
    s.session.reply(`END ${name} forgotten`)
  }
  node.announce(name) // members on other nodes find it gone at their pull
  const dropped = Number(r[0])
  return `OK forgot group ${group} on ${name}${dropped > 0 ? ` (${dropped} unacked event${plural(dropped)} dropped)` : ''}`
}
