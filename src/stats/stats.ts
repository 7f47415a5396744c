import { systemClock, type Clock, type Timer } from '../clock'
import type { Store } from '../store/store'
import { GroupSink, groupOf } from '../routing/group'
import type { Topic } from '../store/topic'

/** Counter values at one moment, for rates. */
interface Sample {
  at: number
  published: number
  delivered: number
  acked: number
}

/** Rates are computed over (about) this window. */
const RATE_WINDOW_MS = 10_000
const SAMPLE_EVERY_MS = 1_000

/**
 * Broker-wide counters. The hot path only does plain integer increments
 * (`stats.published++`); everything else is computed when `stats` is asked
 * for. A one-second timer (unref'd) keeps a short history of the counters so
 * rates cover the last ~10 s.
 */
export class BrokerStats {
  /** Events accepted by `pub`. */
  published = 0
  /** EVENT lines written to subscribers, redeliveries included. */
  delivered = 0
  /** Successful `ack`s. */
  acked = 0
  /** Open connections right now. */
  connections = 0
  /** Connections accepted since start. */
  accepted = 0
  /** Publishes refused, by error code (`pub` lines and HTTP publishes): GET /metrics. */
  readonly refusedPublishes = new Map<string, number>()
  /** Times a limit was hit, by config field. */
  readonly limitHits = {
    maxConnections: 0,
    maxConnectionsPerIp: 0,
    maxSubscriptionsPerConnection: 0,
    maxTopics: 0,
    idleTimeoutMs: 0,
  }

  readonly startedAt: number
  private readonly clock: Clock
  private readonly now: () => number
  private samples: Sample[] = []
  private timer: Timer | null = null

  constructor (clock: Clock = systemClock) {
    this.clock = clock
    this.now = clock.now
    this.startedAt = clock.now()
    this.samples.push(this.sample(this.startedAt))
  }

  /** Counts one refused publish. */
  refusedPublish (code: string): void {
    this.refusedPublishes.set(code, (this.refusedPublishes.get(code) ?? 0) + 1)
  }

  /** Starts sampling for rates. */
  start (): void {
    if (this.timer !== null) return
    this.timer = this.clock.every(SAMPLE_EVERY_MS, () => this.tick())
  }

  stop (): void {
    this.timer?.cancel()
    this.timer = null
  }

  /** Records a sample; keeps only what the rate window needs. */
  tick (at: number = this.now()): void {
    this.samples.push(this.sample(at))
    while (this.samples.length > 2 && at - this.samples[1].at >= RATE_WINDOW_MS) this.samples.shift()
  }

  /** Per-second rates since the oldest kept sample (at most ~10 s ago). */
  rates (at: number = this.now()): { published: number, delivered: number, acked: number } {
    const first = this.samples[0]
    const secs = Math.max(at - first.at, 1) / 1000
    return {
      published: round2((this.published - first.published) / secs),
      delivered: round2((this.delivered - first.delivered) / secs),
      acked: round2((this.acked - first.acked) / secs),
    }
  }

  /** The broker-wide `stats` object. Key order is stable (documented). */
  snapshot (store: Store, at: number = this.now()): Record<string, unknown> {
    const c = store.counts()
    store.refreshPendingBytes()
    const mem = process.memoryUsage()
    return {
      topics: c.topics,
      subscriptions: c.subscriptions,
      pending: c.pending,
      inFlight: c.inFlight,
      connections: this.connections,
      published: this.published,
      delivered: this.delivered,
      acked: this.acked,
      redelivered: store.counters.redelivered,
      deadLettered: store.counters.deadLettered,
      deadLetterBlocked: store.counters.deadLetterBlocked,
      dropped: store.counters.dropped,
      atMostOnceDropped: store.counters.atMostOnceDropped,
      pendingBytes: store.pendingBytes,
      rates: this.rates(at),
      memory: { rss: mem.rss, heapUsed: mem.heapUsed },
      uptimeMs: at - this.startedAt,
      accepted: this.accepted,
      limitHits: { ...this.limitHits },
    }
  }

  private sample (at: number): Sample {
    return { at, published: this.published, delivered: this.delivered, acked: this.acked }
  }
}

/** One topic's `stats <topic>` object: totals, then each subscriber. */
export function topicSnapshot (topic: Topic): Record<string, unknown> {
  let pending = 0
  let inFlight = 0
  const subscribers: Array<Record<string, unknown>> = []
  for (const s of topic.subscriptions.values()) {
    pending += s.pending
    inFlight += s.inFlight.size
    const entry: Record<string, unknown> = {
      name: s.named ? s.key : null,
      connected: s.sink !== null,
      pending: s.pending,
      inFlight: s.inFlight.size,
      maxInFlight: s.maxInFlight,
      ack: s.atMostOnce === null ? 'explicit' : 'none',
      dropped: s.dropped,
    }
    const group = groupOf(s.key)
    if (group !== null) {
      // A consumer group: its name, and each member with its own cap (none while it waits for one).
      entry.group = group
      entry.members = GroupSink.of(s)?.info() ?? []
    }
    subscribers.push(entry)
  }
  return {
    topic: topic.name,
    published: topic.nextOffset - 1,
    subscriptions: subscribers.length,
    pending,
    inFlight,
    subscribers,
  }
}

function round2 (n: number): number {
  return Math.round(n * 100) / 100
}
