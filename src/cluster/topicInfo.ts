import { fail } from '../errors'
import type { ClusterNode } from './node'

/** What `stats <topic>` shows of a group member. */
export interface MemberInfo { member: string, inFlight: number, maxInFlight: number }

/** One subscription of a topic, as the info script reports it. */
export interface SubscriptionInfo {
  /** Its subscription key (keys.ts subKey). */
  key: string
  pending: number
  inFlight: number
  maxInFlight: number
  /** The consumer holding a named subscription now ('' while its client is away). */
  holder: string
  /** An at-most-once (`ack=none`) subscription, and the events it lost waiting for its socket. */
  atMostOnce: boolean
  dropped: number
  members: MemberInfo[]
}

/** A topic's state in Redis (the info script, read-only, no WAIT). */
export interface TopicInfo {
  topic: string
  lastOffset: number
  retainedEvents: number
  retainedBytes: number
  pending: number
  inFlight: number
  subscriptions: SubscriptionInfo[]
}

/** Reads a topic's info; null when it does not exist. */
export async function topicInfo (node: ClusterNode, topic: string): Promise<TopicInfo | null> {
  const r = await node.store.run('acklineInfo', topic, [], false)
  if (r[0] === -1) return null
  const subscriptions: SubscriptionInfo[] = []
  let i = 6
  for (let k = 0; k < Number(r[3]); k++) {
    const s: SubscriptionInfo = {
      key: String(r[i]),
      pending: Number(r[i + 1]),
      inFlight: Number(r[i + 2]),
      maxInFlight: Number(r[i + 3]),
      holder: String(r[i + 4]),
      atMostOnce: r[i + 5] === 1,
      dropped: Number(r[i + 6]),
      members: [],
    }
    const n = Number(r[i + 7])
    i += 8
    for (let j = 0; j < n; j++, i += 3) s.members.push({ member: String(r[i]), inFlight: Number(r[i + 1]), maxInFlight: Number(r[i + 2]) })
    subscriptions.push(s)
  }
  return { topic, lastOffset: Number(r[0]), retainedEvents: Number(r[1]), retainedBytes: Number(r[2]), pending: Number(r[4]), inFlight: Number(r[5]), subscriptions }
}

/** A topic's info, else UNKNOWN_TOPIC. */
export async function existingTopicInfo (node: ClusterNode, topic: string): Promise<TopicInfo> {
  return await topicInfo(node, topic) ?? fail('UNKNOWN_TOPIC', { topic })
}

/** The `topics` entry of a topic, as on one node. */
export function topicsEntry (info: TopicInfo): Record<string, unknown> {
  return {
    topic: info.topic,
    firstOffset: info.lastOffset - info.retainedEvents + 1,
    lastOffset: info.lastOffset,
    retainedEvents: info.retainedEvents,
    retainedBytes: info.retainedBytes,
    subscribers: info.subscriptions.length,
    pending: info.pending + info.inFlight,
  }
}

/** The `stats <topic>` object, as on one node (stats/stats.ts topicSnapshot). */
export function topicStats (info: TopicInfo): Record<string, unknown> {
  const subscribers = info.subscriptions.map(s => {
    const group = s.key.startsWith('g:') ? s.key.slice(2) : null
    const named = s.key.startsWith('n:')
    const entry: Record<string, unknown> = {
      name: named ? s.key.slice(2) : group !== null ? 'group:' + group : null,
      connected: named ? s.holder !== '' : group !== null ? s.members.length > 0 : true,
      pending: s.pending,
      inFlight: s.inFlight,
      maxInFlight: s.maxInFlight,
      ack: s.atMostOnce ? 'none' : 'explicit',
      dropped: s.dropped,
    }
    if (group !== null) {
      entry.group = group
      entry.members = s.members
    }
    return entry
  })
  return { topic: info.topic, published: info.lastOffset, subscriptions: subscribers.length, pending: info.pending, inFlight: info.inFlight, subscribers }
}
