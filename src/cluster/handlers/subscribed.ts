import { fail } from '../../errors'
import type { Session } from '../../manager/session'
import type { LocalSubscription } from '../localSubscriptions'
import type { ClusterNode } from '../node'

/** The session's subscription to a topic, else NOT_SUBSCRIBED (UNKNOWN_TOPIC when there is no such topic), as on one node. */
export async function subscribed (node: ClusterNode, session: Session, topic: string): Promise<LocalSubscription> {
  const sub = node.subs.get(session, topic)
  if (sub !== undefined) return sub
  if (!await node.topicExists(topic)) fail('UNKNOWN_TOPIC', { topic })
  fail('NOT_SUBSCRIBED', { topic })
}
