import { join } from 'node:path'
import { grantFromWord, grantWord } from '../auth/acl'
import type { StoredEvent } from '../store/event'
import type { GrantRights, Topic } from '../store/topic'

/**
 * The per-topic JSON log, `<logDir>/<topic>.json`, in the shape of the
 * original design: an object keyed by subscriber name, each value that
 * subscriber's unacked events in delivery order. Broker bookkeeping sits
 * under "#meta" (no subscriber name can start with #), and each event
 * carries its publish order as "#seq" and, once delivered, "deliveries".
 */
export const META_KEY = '#meta'
export const SEQ_KEY = '#seq'
export const LOG_SUFFIX = '.json'

export function topicLogFile (dir: string, topic: string): string {
  return join(dir, topic + LOG_SUFFIX)
}

export interface TopicMeta {
  topic: string
  seq: number
  nextAutoId: number
  /** This file reflects every journal record up to and including this generation. */
  journalGen: number
  /** Settings by named subscriber; `user`: on a private topic, the user that made the subscription. */
  subscribers: Record<string, { maxInFlight: number, ackTimeoutMs?: number, user?: string }>
  /** Private topics with grants: what each user may do (`pub`, `sub` or `both`). Absent when there is none. */
  grants?: Record<string, 'pub' | 'sub' | 'both'>
}

/** Renders a topic's named subscriptions, one event per line so `cat` and `jq` stay pleasant. */
export function renderTopicLog (topic: Topic, journalGen: number): string {
  const subscribers: TopicMeta['subscribers'] = {}
  const named = []
  for (const s of topic.subscriptions.values()) {
    if (!s.named) continue
    subscribers[s.key] = s.user === null
      ? { maxInFlight: s.maxInFlight, ackTimeoutMs: s.ackTimeoutMs }
      : { maxInFlight: s.maxInFlight, ackTimeoutMs: s.ackTimeoutMs, user: s.user }
    named.push(s)
  }
  const meta: TopicMeta = { topic: topic.name, seq: topic.seq, nextAutoId: topic.nextAutoId, journalGen, subscribers }
  if (topic.grants.size > 0) {
    // Prototype-free: a user may be called `__proto__`.
    const grants: NonNullable<TopicMeta['grants']> = Object.create(null)
    for (const [user, rights] of topic.grants) grants[user] = grantWord(rights) as 'pub' | 'sub' | 'both'
    meta.grants = grants
  }
  const parts: string[] = [`{\n  ${JSON.stringify(META_KEY)}: ${JSON.stringify(meta)}`]
  for (const s of named) {
    const entries = s.snapshot()
    if (entries.length === 0) {
      parts.push(`,\n  ${JSON.stringify(s.key)}: []`)
      continue
    }
    const lines = entries.map(d => '    ' + logEntry(d.ev, d.deliveries))
    parts.push(`,\n  ${JSON.stringify(s.key)}: [\n${lines.join(',\n')}\n  ]`)
  }
  parts.push('\n}\n')
  return parts.join('')
}

function logEntry (ev: StoredEvent, deliveries: number): string {
  const extra = deliveries > 0 ? `,"${SEQ_KEY}":${ev.seq},"deliveries":${deliveries}}` : `,"${SEQ_KEY}":${ev.seq}}`
  return ev.json.slice(0, -1) + extra
}

/** A topic log as read back: plain data, turned into store objects by recovery. */
export interface LoadedTopicLog {
  meta: TopicMeta
  subscribers: Map<string, Array<{ event: Record<string, unknown>, seq: number, deliveries: number }>>
  /** `"#meta".grants`, checked. */
  grants: Map<string, GrantRights>
}

/** Parses and checks a topic log; throws an Error saying what is wrong. */
export function parseTopicLog (text: string, expectedTopic: string): LoadedTopicLog {
  const data = JSON.parse(text) as unknown
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error('not a JSON object')
  const obj = data as Record<string, unknown>
  const meta = obj[META_KEY] as TopicMeta | undefined
  if (typeof meta !== 'object' || meta === null) throw new Error(`missing "${META_KEY}"`)
  if (meta.topic !== expectedTopic) throw new Error(`"${META_KEY}.topic" is ${JSON.stringify(meta.topic)}, expected ${JSON.stringify(expectedTopic)}`)
  for (const k of ['seq', 'nextAutoId', 'journalGen'] as const) {
    if (!Number.isSafeInteger(meta[k])) throw new Error(`"${META_KEY}.${k}" is not an integer`)
  }
  if (typeof meta.subscribers !== 'object' || meta.subscribers === null) throw new Error(`"${META_KEY}.subscribers" is not an object`)
  const grants = parseGrants(meta.grants)
  const subscribers: LoadedTopicLog['subscribers'] = new Map()
  for (const [name, events] of Object.entries(obj)) {
    if (name === META_KEY) continue
    if (!Array.isArray(events)) throw new Error(`subscriber ${JSON.stringify(name)} is not an array`)
    const list = events.map((e: unknown, i) => {
      if (typeof e !== 'object' || e === null) throw new Error(`${name}[${i}] is not an object`)
      const ev = e as Record<string, unknown>
      const seq = ev[SEQ_KEY]
      const deliveries = ev.deliveries ?? 0
      if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(deliveries)) throw new Error(`${name}[${i}] has no valid "${SEQ_KEY}"/"deliveries"`)
      if (ev.id === undefined || !Number.isInteger(ev.priority)) throw new Error(`${name}[${i}] has no id or priority`)
      delete ev[SEQ_KEY]
      delete ev.deliveries
      return { event: ev, seq: seq as number, deliveries: deliveries as number }
    })
    subscribers.set(name, list)
  }
  return { meta, subscribers, grants }
}

/** `"#meta".grants` (optional): user -> `pub`/`sub`/`both`. JSON.parse makes every key, `__proto__` too, an own property. */
function parseGrants (value: unknown): Map<string, GrantRights> {
  const grants = new Map<string, GrantRights>()
  if (value === undefined) return grants
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`"${META_KEY}.grants" is not an object`)
  for (const [user, word] of Object.entries(value)) {
    let rights: GrantRights | undefined
    try {
      rights = grantFromWord(word)
    } catch (err) {
      throw new Error(`"${META_KEY}.grants" of ${JSON.stringify(user)}: ${(err as Error).message}`)
    }
    if (rights !== undefined) grants.set(user, rights)
  }
  return grants
}
