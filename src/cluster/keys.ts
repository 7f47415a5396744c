import { DLQ_SUFFIX } from '../store/names'

/**
 * The Redis key schema of cluster mode (docs/cluster.md#keys). Every key
 * starts with `ackline:`, then a hash tag that picks its slot, then a fixed
 * kind segment, so no client-chosen name (topic, client id, event id) can
 * make a broker key: topic names and client ids cannot hold `{`, `}` or `:`
 * (src/store/names.ts), and event ids are only ever hash fields, never keys.
 *
 * A topic and its dead-letter topic share the tag `{<base>}` (the name
 * without `.dlq`), so one Lua script can move an event between them.
 *
 *   ackline:{<base>}:t:<topic>:seq        last offset (INCR); the topic exists while it does
 *   ackline:{<base>}:t:<topic>:aid        last broker-assigned id
 *   ackline:{<base>}:t:<topic>:ev         HASH offset → event text
 *   ackline:{<base>}:t:<topic>:ids        HASH event id → offset
 *   ackline:{<base>}:t:<topic>:idt        ZSET publisher-given id → publish time (dedupe window)
 *   ackline:{<base>}:t:<topic>:subs       SET subscription keys
 *   ackline:{<base>}:t:<topic>:g          HASH user → pub|sub|both: a private topic's grants
 *   ackline:{<base>}:t:<topic>:s:<sub>:…  one subscription (SUB_KEYS)
 *   ackline:{<base>}:notify               sharded pub/sub channel: new events in the family
 *   ackline:{topics}:all                  SET of every topic name (reaper, `topics`)
 *   ackline:{patterns}:all                HASH `<consumer> <pattern>` → JSON: every wildcard subscription
 *   ackline:{patterns}:new                sharded pub/sub channel: a topic made, for wildcard subscribers
 *   ackline:{nodes}:n:<node>              a live node's heartbeat (PX nodeTtlMs)
 *   ackline:{names}:n:<client-id>         lease of a durable name: its holder's consumer id (PX nodeTtlMs)
 *   ackline:{names}:n:w:<topic> <name>    lease of a webhook: the consumer id of the node delivering it (PX nodeTtlMs)
 *   ackline:{webhooks}:all                SET `<topic> <name>`: every webhook, scanned by each node (webhooks.ts)
 *
 * Subscription keys (`<sub>`): `n:<client-id>` for a named client,
 * `a:<node>:<session>` for an anonymous one (its node is in it, so the
 * reaper knows whose it is), `g:<group>` for a consumer group, `w:<name>`
 * for a webhook (its url, secret and caps in its meta hash).
 */
export const PREFIX = 'ackline:'

/** The parts of one subscription, after `…:s:<sub>:`. */
export const SUB_KEYS = {
  /** ZSET offset → order (redeliveries first, then priority high first, then offset). */
  pending: 'q',
  /** ZSET offset → ack deadline (ms, Redis TIME). */
  inFlight: 'if',
  /** ZSET offset → when a nacked event with a delay is due. */
  delayed: 'dl',
  /** HASH offset → deliveries so far. */
  deliveries: 'd',
  /** HASH offset → consumer id the in-flight event went to. */
  owner: 'o',
  /** HASH consumer id → its events in flight (each consumer's cap). */
  perConsumer: 'c',
  /**
   * HASH maxInFlight, ackTimeoutMs, named, holder, …; on a private topic also `user` (the grantee who made
   * it) and, in a group, `u:<consumer>` (the grantee of each member), which `revoke` ends.
   */
  meta: 'm',
  /** A consumer group's members: HASH consumer id → its cap. */
  members: 'mb',
} as const

/** The topic family a topic belongs to: its name without `.dlq`. */
export function familyOf (topic: string): string {
  return topic.endsWith(DLQ_SUFFIX) ? topic.slice(0, -DLQ_SUFFIX.length) : topic
}

/** `ackline:{<base>}:t:<topic>:`: the start of every key of one topic. */
export function topicPrefix (topic: string): string {
  return `${PREFIX}{${familyOf(topic)}}:t:${topic}:`
}

/** The sharded pub/sub channel that announces new events of a topic family. */
export function notifyChannel (topic: string): string {
  return `${PREFIX}{${familyOf(topic)}}:notify`
}

/** A private topic's grants (HASH user → `pub`, `sub` or `both`), removed with the topic. */
export function grantsKey (topic: string): string {
  return topicPrefix(topic) + 'g'
}

/** The set of every topic name. */
export const TOPICS_KEY = `${PREFIX}{topics}:all`

/**
 * Every wildcard subscription of the cluster: HASH `<consumer id> <pattern>` →
 * `{"max","timeout","user"}`, read by a node that creates a topic (wildcards.ts).
 * Its kind segments (`all`, `new`) are not a topic family's (`t:`, `notify`).
 */
export const PATTERNS_KEY = `${PREFIX}{patterns}:all`

/** The sharded pub/sub channel on which a node that made a topic tells the wildcard subscribers' nodes. */
export const PATTERNS_CHANNEL = `${PREFIX}{patterns}:new`

/** A node's heartbeat key. */
export function nodeKey (nodeId: string): string {
  return `${PREFIX}{nodes}:n:${nodeId}`
}

/** A durable name's lease key. */
export function nameKey (name: string): string {
  return `${PREFIX}{names}:n:${name}`
}

/**
 * The registry of every webhook (`<topic> <name>`; neither holds a space).
 * Its kind segment `all` under `{webhooks}` is not a topic family's.
 */
export const WEBHOOKS_KEY = `${PREFIX}{webhooks}:all`

/**
 * The lease name of a webhook (its key is nameKey of it): client ids cannot
 * hold `:`, so it never meets a client's name.
 */
export function webhookLeaseName (topic: string, name: string): string {
  return `w:${topic} ${name}`
}

/** The subscription key of a named client, an anonymous session, or a consumer group. */
export const subKey = {
  webhook: (name: string): string => `w:${name}`,
  named: (name: string): string => `n:${name}`,
  anonymous: (nodeId: string, sessionId: number): string => `a:${nodeId}:${sessionId}`,
  group: (group: string): string => `g:${group}`,
}

/** The node id inside an anonymous subscription key; null for named and group keys. */
export function anonymousNode (key: string): string | null {
  if (!key.startsWith('a:')) return null
  const end = key.lastIndexOf(':')
  return key.slice(2, end)
}

/** A consumer id: the node and the session an in-flight event went to. */
export function consumerId (nodeId: string, sessionId: number): string {
  return `${nodeId}/${sessionId}`
}

/** The node of a consumer id. */
export function consumerNode (consumer: string): string {
  return consumer.slice(0, consumer.lastIndexOf('/'))
}

/**
 * Exchanges (docs/cluster.md#keys) share one hash tag, `{exchanges}`, so one
 * script sees them all (the cluster-wide `maxExchanges`, a consistent
 * `exchanges` list). Their kind segment `x:` (and `xs`) is not a topic
 * family's (`t:`, `notify`), so a topic named `exchanges` shares at most the
 * slot, never a key; exchange names cannot hold `:` (src/routing/args.ts).
 *
 *   ackline:{exchanges}:xs                SET of every exchange name
 *   ackline:{exchanges}:x:<name>          HASH type, seq (the last binding's number)
 *   ackline:{exchanges}:x:<name>:b        ZSET `<topic> <key>` → its number: bindings in the order made
 */
export const EXCHANGES_PREFIX = `${PREFIX}{exchanges}:`

/** The set of every exchange name (the key the exchange scripts are routed by). */
export const EXCHANGES_KEY = `${EXCHANGES_PREFIX}xs`

/** An exchange's hash (its type). */
export function exchangeKey (name: string): string {
  return `${EXCHANGES_PREFIX}x:${name}`
}
