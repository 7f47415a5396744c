import { Counter, Gauge, Registry } from 'prom-client'
import type { AuthService } from '../auth/auth'
import type { Clock } from '../clock'
import type { BrokerStats } from '../stats/stats'
import type { Store } from '../store/store'
import type { MetricsConfig } from './config'
import type { DiskUsage } from './diskUsage'
import type { PersistenceTimings } from './histogram'
import type { PendingAge } from './pendingAge'

/** What the metrics are read from: the broker's plain counters and state, nothing kept here. */
export interface MetricsSource {
  readonly config: MetricsConfig
  readonly store: Store
  readonly stats: BrokerStats
  readonly auth: AuthService
  readonly clock: Clock
  readonly timings: PersistenceTimings
  readonly disk: DiskUsage
  readonly ages: PendingAge
}

/**
 * GET /metrics: a dedicated prom-client Registry (never the global one, so an
 * application embedding the broker keeps its own). The hot path only
 * increments plain integers (BrokerStats, Store.counters, AuthService) and
 * the histograms' typed arrays; every counter and gauge here reads them in
 * its `collect()` at scrape time. Names follow the Prometheus conventions:
 * `ackline_` prefix, base units in the name, `_total` on counters.
 */
export class BrokerMetrics {
  readonly registry = new Registry()

  constructor (private readonly src: MetricsSource) {
    const r = this.registry
    const { stats, store, auth } = src
    const counter = (name: string, help: string, read: () => number): void => {
      new Counter({ name, help, registers: [r], collect () { this.reset(); this.inc(read()) } }) // eslint-disable-line no-new
    }
    counter('ackline_events_published_total', 'Events accepted by pub (any transport).', () => stats.published)
    counter('ackline_events_delivered_total', 'EVENT lines handed to subscribers, redeliveries included.', () => stats.delivered)
    counter('ackline_events_acked_total', 'Successful acks.', () => stats.acked)
    counter('ackline_events_redelivered_total', 'Events put back in their queue after an ack timeout or a nack.', () => store.counters.redelivered)
    counter('ackline_events_dead_lettered_total', 'Events moved to a <topic>.dlq dead-letter topic.', () => store.counters.deadLettered)
    counter('ackline_events_dropped_total', 'Events dropped from full queues (overflowDropOldest).', () => store.counters.dropped)
    counter('ackline_auth_failures_total', 'Failed logins: auth commands and HTTP Basic credentials refused with AUTH_FAILED.', () => auth.failures)
    new Counter({ // eslint-disable-line no-new
      name: 'ackline_publishes_refused_total',
      help: 'Publishes refused, by error code (QUEUE_FULL, OVERLOADED, BAD_JSON, FORBIDDEN, ...).',
      labelNames: ['code'],
      registers: [r],
      collect () {
        this.reset()
        for (const [code, n] of stats.refusedPublishes) this.inc({ code }, n)
      },
    })

    const gauge = (name: string, help: string, read: () => number | Promise<number>): void => {
      new Gauge({ name, help, registers: [r], async collect () { this.set(await read()) } }) // eslint-disable-line no-new
    }
    gauge('ackline_connections', 'Open client connections (TCP, TLS and WebSocket).', () => stats.connections)
    gauge('ackline_topics', 'Topics, dead-letter topics included.', () => store.topics.size)
    gauge('ackline_subscriptions', 'Subscriptions, named ones waiting for their client included.', () => store.counts().subscriptions)
    gauge('ackline_log_dir_bytes', 'Bytes of every file under the log dir.', async () => (await src.disk.measure()).usedBytes)
    gauge('ackline_log_dir_free_bytes', 'Bytes still free for the broker on the log dir\'s file system.', async () => (await src.disk.measure()).freeBytes)
    if (src.config.perTopic) this.perTopicGauges()
    else this.totalGauges()

    r.registerMetric(src.timings.journalCommit as never)
    r.registerMetric(src.timings.batch as never)
    r.registerMetric(src.timings.publishConfirm as never)
  }

  /** The exposition text and its content type. */
  async render (): Promise<{ text: string, contentType: string }> {
    return { text: await this.registry.metrics(), contentType: this.registry.contentType }
  }

  private totalGauges (): void {
    const { store, clock, ages } = this.src
    const r = this.registry
    const gauge = (name: string, help: string, read: () => number | Promise<number>): void => {
      new Gauge({ name, help, registers: [r], async collect () { this.set(await read()) } }) // eslint-disable-line no-new
    }
    gauge('ackline_events_pending', 'Events waiting to be delivered, over every subscription.', () => store.counts().pending)
    gauge('ackline_events_in_flight', 'Events delivered and not yet acked, over every subscription.', () => store.counts().inFlight)
    gauge('ackline_pending_bytes', 'Bytes of events some subscription still holds (what maxPendingBytes limits).', () => { store.refreshPendingBytes(); return store.pendingBytes })
    gauge('ackline_oldest_pending_age_seconds', 'Age of the oldest event a subscriber still owes (pending or in flight), over every topic.', async () => {
      let max = 0
      for (const ms of (await ages.all(store, clock.now())).values()) if (ms > max) max = ms
      return max / 1000
    })
  }

  private perTopicGauges (): void {
    const { store, clock, ages } = this.src
    const r = this.registry
    const gauge = (name: string, help: string, read: (t: import('../store/topic').Topic) => number): void => {
      new Gauge({ // eslint-disable-line no-new
        name,
        help,
        labelNames: ['topic'],
        registers: [r],
        collect () {
          this.reset()
          for (const t of store.topics.values()) if (!isPrivate(t.name)) this.set({ topic: t.name }, read(t))
        },
      })
    }
    gauge('ackline_events_pending', 'Events waiting to be delivered, per topic.', t => sumSubs(t, s => s.pending))
    gauge('ackline_events_in_flight', 'Events delivered and not yet acked, per topic.', t => sumSubs(t, s => s.inFlight.size))
    gauge('ackline_pending_bytes', 'Bytes of the topic\'s events some subscription still holds.', t => { if (t.owedStale) t.refreshOwed(); return t.owedBytes })
    gauge('ackline_topic_subscriptions', 'Subscriptions per topic.', t => t.subscriptions.size)
    gauge('ackline_topic_retained_bytes', 'Bytes of events the topic retains.', t => t.retainedBytes)
    gauge('ackline_topic_last_offset', 'Offset of the topic\'s newest event (events published to it since it was created).', t => t.nextOffset - 1)
    new Gauge({ // eslint-disable-line no-new
      name: 'ackline_oldest_pending_age_seconds',
      help: 'Age of the oldest event a subscriber still owes (pending or in flight), per topic.',
      labelNames: ['topic'],
      registers: [r],
      async collect () {
        this.reset()
        for (const [topic, ms] of await ages.all(store, clock.now(), name => !isPrivate(name))) this.set({ topic }, ms / 1000)
      },
    })
  }
}

function sumSubs (t: import('../store/topic').Topic, f: (s: import('../store/subscription').Subscription) => number): number {
  let n = 0
  for (const s of t.subscriptions.values()) n += f(s)
  return n
}

/** Private topics (`~owner.…`) never appear as label values: any user may scrape. */
function isPrivate (name: string): boolean {
  return name.charCodeAt(0) === 0x7e
}
