import type { HandlerContext } from '../manager/context'
import type { Session } from '../manager/session'
import type { Monitoring } from '../metrics/monitoring'
import { DLQ_SUFFIX } from '../store/names'
import type { Topic } from '../store/topic'

/** Broker-wide figures: the overview (counters are cumulative; the page turns them into rates). */
export interface Overview {
  at: number
  uptimeMs: number
  connections: number
  topics: number
  subscriptions: number
  pending: number
  inFlight: number
  pendingBytes: number
  published: number
  delivered: number
  acked: number
  redelivered: number
  deadLettered: number
  dropped: number
  /** Journal group commits (write + fdatasync) so far, and their total seconds. */
  journalCommits: number
  journalCommitSeconds: number
  diskUsedBytes: number
  diskFreeBytes: number
}

/** One row of the topics table. */
export interface TopicRow {
  name: string
  retainedEvents: number
  retainedBytes: number
  firstOffset: number
  lastOffset: number
  pending: number
  inFlight: number
  subscribers: number
  /** Dead letters waiting in `<name>.dlq` (null when there is no such topic). */
  dlq: number | null
  oldestPendingMs: number
}

/** One subscriber on a topic page. */
export interface SubscriberRow {
  name: string | null
  connected: boolean
  /** The connection holding it: `#<id> <address>`, a webhook, or null while away. */
  connection: string | null
  inFlight: number
  maxInFlight: number
  pending: number
  oldestPendingMs: number
  redeliveries: number
}

/** The topic page's live part. */
export interface TopicDetail extends TopicRow {
  subscriberList: SubscriberRow[]
  webhooks: Array<Record<string, unknown>>
}

/**
 * Builds what the dashboard shows, straight from the store and the stats
 * (no command runs), limited to what one user may see: `canSee`.
 */
export class DashboardData {
  constructor (private readonly ctx: HandlerContext, private readonly monitoring: Monitoring) {}

  /** Whether `user` (null: anonymous, only when auth is not required) may see `topic` on the dashboard: as `stats <topic>` allows. */
  canSee (user: string | null, topic: string): boolean {
    const r = this.ctx.auth.rights(user, topic)
    if (!r.visible) return false
    return user === null || r.pub || r.sub
  }

  async overview (): Promise<Overview> {
    const { store, stats, clock } = this.ctx
    const c = store.counts()
    store.refreshPendingBytes()
    const disk = await this.monitoring.disk.measure()
    const commit = await this.monitoring.timings.journalCommit.get()
    const now = clock.now()
    return {
      at: now,
      uptimeMs: now - stats.startedAt,
      connections: stats.connections,
      topics: c.topics,
      subscriptions: c.subscriptions,
      pending: c.pending,
      inFlight: c.inFlight,
      pendingBytes: store.pendingBytes,
      published: stats.published,
      delivered: stats.delivered,
      acked: stats.acked,
      redelivered: store.counters.redelivered,
      deadLettered: store.counters.deadLettered,
      dropped: store.counters.dropped,
      journalCommits: commit.values.find(v => v.metricName?.endsWith('_count') === true)?.value ?? 0,
      journalCommitSeconds: commit.values.find(v => v.metricName?.endsWith('_sum') === true)?.value ?? 0,
      diskUsedBytes: disk.usedBytes,
      diskFreeBytes: disk.freeBytes,
    }
  }

  /** The topics `user` may see, by name. */
  async topics (user: string | null): Promise<TopicRow[]> {
    const rows: TopicRow[] = []
    for (const t of [...this.ctx.store.topics.values()]) {
      if (this.canSee(user, t.name)) rows.push(await this.row(t))
    }
    return rows.sort((a, b) => a.name < b.name ? -1 : 1)
  }

  /** One topic's page, or null when it does not exist or `user` may not see it. */
  async topic (user: string | null, name: string): Promise<TopicDetail | null> {
    const t = this.ctx.store.topic(name)
    if (t === undefined || !this.canSee(user, name)) return null
    const now = this.ctx.clock.now()
    const subscriberList: SubscriberRow[] = []
    const webhooks: Array<Record<string, unknown>> = []
    for (const s of t.subscriptions.values()) {
      const sink = s.sink
      let connection: string | null = null
      if (isWebhook(sink)) {
        const state = sink.state()
        webhooks.push({ ...state })
        connection = 'webhook ' + String(state.url)
      } else if (sink !== null) {
        const session = sink as Partial<Session>
        connection = `#${String(session.id)}${session.remoteAddress === undefined ? '' : ' ' + session.remoteAddress}`
      }
      const low = s.lowestOwed()
      subscriberList.push({
        name: s.named ? s.key : null,
        connected: sink !== null,
        connection,
        inFlight: s.inFlight.size,
        maxInFlight: s.maxInFlight,
        pending: s.pending,
        oldestPendingMs: low === Infinity ? 0 : await this.monitoring.ages.offsetAgeMs(t, low, now),
        redeliveries: s.redeliveries,
      })
    }
    return { ...(await this.row(t)), subscriberList, webhooks }
  }

  private async row (t: Topic): Promise<TopicRow> {
    let pending = 0
    let inFlight = 0
    for (const s of t.subscriptions.values()) {
      pending += s.pending
      inFlight += s.inFlight.size
    }
    const dlq = t.name.endsWith(DLQ_SUFFIX) ? undefined : this.ctx.store.topic(t.name + DLQ_SUFFIX)
    let dlqCount: number | null = null
    if (dlq !== undefined) {
      dlqCount = 0
      for (const s of dlq.subscriptions.values()) dlqCount = Math.max(dlqCount, s.pending + s.inFlight.size)
    }
    return {
      name: t.name,
      retainedEvents: t.retainedEvents,
      retainedBytes: t.retainedBytes,
      firstOffset: t.firstOffset,
      lastOffset: t.nextOffset - 1,
      pending,
      inFlight,
      subscribers: t.subscriptions.size,
      dlq: dlqCount,
      oldestPendingMs: await this.monitoring.ages.topicAgeMs(t, this.ctx.clock.now()),
    }
  }
}

/** A webhook subscriber (src/webhooks/webhook.ts), told apart without loading its module. */
function isWebhook (sink: unknown): sink is { state: () => Record<string, unknown> } {
  return sink !== null && typeof (sink as { state?: unknown }).state === 'function' && typeof (sink as { deliver?: unknown }).deliver === 'function'
}
