/** What `stats` answers (docs/protocol.md#stats, in the broker's key order). */
export interface BrokerStats {
  topics: number
  subscriptions: number
  pending: number
  inFlight: number
  connections: number
  published: number
  delivered: number
  acked: number
  redelivered: number
  deadLettered: number
  deadLetterBlocked: number
  dropped: number
  /** Events dropped by slow at-most-once (`ack=none`) subscriptions; absent from a broker older than that mode. */
  atMostOnceDropped?: number
  pendingBytes: number
  rates: { published: number, delivered: number, acked: number }
  memory: { rss: number, heapUsed: number }
  uptimeMs: number
  accepted: number
  limitHits: Record<string, number>
}

/** One subscription in `stats <topic>`. */
export interface SubscriberStats {
  /** The client id of a named subscriber, null for an anonymous one. */
  name: string | null
  connected: boolean
  pending: number
  inFlight: number
  maxInFlight: number
  /** `explicit` (acked) or `none` (at most once); absent from a broker older than `ack=none`. */
  ack?: 'explicit' | 'none'
  /** Events this subscription lost undelivered (drop-oldest policy, or past atMostOnceMaxWaiting). */
  dropped?: number
}

/** What `stats <topic>` answers. */
export interface TopicStats {
  topic: string
  published: number
  subscriptions: number
  pending: number
  inFlight: number
  subscribers: SubscriberStats[]
}

/** One topic in the answer to `topics` (docs/protocol.md#topics). */
export interface TopicInfo {
  topic: string
  /** Offset of the oldest retained event (when none is retained, see `retainedEvents`). */
  firstOffset: number
  /** Offset of the newest event published. */
  lastOffset: number
  /** Events kept for replay or still owed to a subscriber. */
  retainedEvents: number
  retainedBytes: number
  /** Subscriptions to the topic. */
  subscribers: number
  /** Events waiting for a subscriber. */
  pending: number
}
