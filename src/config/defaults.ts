import { HTTP_DEFAULTS, type HttpConfig } from '../http/config'
import type { AuthConfig, TlsConfig } from '../auth/config'
import { defaultCommandWords, type Action } from '../commands/builtin'
import type { LogLevel } from '../log'
import type { FsyncPolicy } from '../persistence/journal'
import { WEBHOOK_DEFAULTS, type WebhookConfig } from '../webhooks/config'
import type { RetentionConfig } from '../persistence/retention'
import { METRICS_DEFAULTS, type MetricsConfig } from '../metrics/config'
import { ALERTS_DEFAULTS, type AlertRule } from '../alerts/config'
import type { ClusterConfig } from '../cluster/config'

export type { Action }

export interface BrokerConfig {
  /** TCP port; 0 picks an ephemeral port. */
  port: number
  host: string
  /** Directory for per-topic JSON logs. */
  logDir: string
  /** Level of the structured (pino) log on stderr. */
  logLevel: LogLevel
  /** Command words per command (keys from the command registry, src/commands/builtin.ts); matched case-insensitively. */
  commands: Record<Action, string[]>
  /** Longest accepted line in bytes, newline excluded. */
  maxLineBytes: number
  /** Default per-subscriber per-topic cap of delivered, unacked events. */
  maxInFlight: number
  /** Highest cap a client may ask for with `sub <topic> <n>`. */
  maxInFlightLimit: number
  /** Open connections accepted at once; more are answered ERR and closed. */
  maxConnections: number
  /** Open connections accepted at once from one remote address; more are answered ERR and closed. */
  maxConnectionsPerIp: number
  /** Subscriptions one connection may hold at once; `sub` beyond it is answered ERR. */
  maxSubscriptionsPerConnection: number
  /** Topics the broker holds; a `pub` that would create one more is answered ERR. */
  maxTopics: number
  /** Exchanges the broker holds; declaring one more is answered ERR TOO_MANY_EXCHANGES. */
  maxExchanges: number
  /** Bindings one exchange holds; one more is answered ERR TOO_MANY_BINDINGS. */
  maxBindingsPerExchange: number
  /** A connection with no subscriptions that sends nothing for this long is told ERR IDLE_TIMEOUT and closed. */
  idleTimeoutMs: number
  /** Parsed lines waiting per connection before the broker stops reading from it. */
  maxQueuedLines: number
  /** Most events one `events` page (GET /topics/:topic/events) returns; its bytes are also bounded by maxLineBytes. */
  maxPageEvents: number
  /** Lines one worker task applies before yielding to other connections. */
  workerBatchLines: number
  /** fastq worker-pool concurrency. */
  workerConcurrency: number
  /** Outbound bytes buffered per connection before an immediate flush (else once per tick). */
  flushBytes: number
  /** A client whose socket has not drained for this long is disconnected. */
  drainTimeoutMs: number
  /** An event delivered and not acked within this time is delivered again (per subscription: `sub <topic> <n> <ms>`). */
  ackTimeoutMs: number
  /** Highest ack timeout a client may ask for, and the longest `nack` delay or `touch` extension. */
  maxAckTimeoutMs: number
  /** After this many deliveries without an ack, an event moves to the dead-letter topic `<topic>.dlq`. */
  maxDeliveries: number
  /** Events one subscription may hold (pending + in flight); see overflowDropOldest for what happens past it. */
  maxPendingPerSubscriber: number
  /** Topic patterns (`name`, `prefix.*`, `*`) whose full queues drop their lowest-priority oldest event instead of refusing the pub. */
  overflowDropOldest: string[]
  /** Bytes of event JSON the broker holds for subscribers in total; past it every pub is refused (ERR OVERLOADED). */
  maxPendingBytes: number
  /**
   * Events an at-most-once (`sub … ack=none`) subscription may hold while its socket does not drain; past it the
   * oldest of the lowest priority is dropped (counted in stats as atMostOnceDropped).
   */
  atMostOnceMaxWaiting: number
  /** Flow control: a publisher waits when an active subscriber of its topic has more than this many events waiting, until it is back at half. */
  publishHoldPending: number
  /** Flow control: the longest a publisher waits; a subscriber that has not acked for this long holds no one back. */
  publishHoldMaxMs: number
  /** How often deadlines (ack timeouts, nack delays) are checked. */
  redeliveryCheckMs: number
  /** How often the batcher appends new events and subscription changes to the topics' files (and truncates the journal). */
  batchIntervalMs: number
  /** Acked events are kept for replay until older than maxAgeMs or past maxBytes per topic (overrides per topic pattern); events still owed are never dropped. */
  retention: RetentionConfig
  /** How often retention deletes expired segments. */
  retentionCheckMs: number
  /** A topic's segment files roll to a new one at this size. */
  segmentBytes: number
  /** Bytes of recently stored or read events kept in memory for delivery (over all topics). */
  eventCacheBytes: number
  /** Publisher-given ids are remembered this long (the dedupe window; also rebuilt after a restart from the stored events). */
  dedupeWindowMs: number
  /** Ids remembered at most per topic, and events read at start-up to rebuild them. */
  dedupeMaxIds: number
  /** A topic's state log is compacted into a snapshot once it passes this size (and the size of the last snapshot). */
  stateCompactMinBytes: number
  /** A topic whose segments grew by this much since its last snapshot gets one, which bounds what a restart lists. */
  stateTailBytes: number
  /**
   * When a confirming reply may go out: `always` after the journal group holding
   * it is fsynced; `batch` after it is written (fsynced at the next batch);
   * `off` at once, no journal (changes since the last batch are lost on a crash).
   */
  fsync: FsyncPolicy
  /** Users, password hashes, topic permissions; see docs/security.md. */
  auth: AuthConfig
  /** Failed `auth` attempts one IP may make per minute; further attempts get RATE_LIMITED. */
  authFailuresPerMinutePerIp: number
  /** Optional TLS listener on its own port; null = none. */
  tls: TlsConfig | null
  /** Webhook delivery: address policy, timeout, retry schedule; see docs/webhooks.md. */
  webhooks: WebhookConfig
  /** The HTTP API and WebSocket listener (docs/http.md); null = off. Serves HTTPS when `tls` is set. */
  http: HttpConfig | null
  /** GET /metrics (docs/metrics.md). */
  /** Dead letters one `requeue` moves at most (it reads them synchronously); `all` on a longer queue moves this many and says how many are left. */
  requeueMaxEvents: number
  metrics: MetricsConfig
  /** Alert rules (docs/alerts.md), evaluated every alertCheckMs. */
  alerts: AlertRule[]
  alertCheckMs: number
  /** Cluster mode: state in a Redis Cluster, several nodes (docs/cluster.md); null = a single node with its log dir. */
  cluster: ClusterConfig | null
}

/**
 * The one defaults object: every limit and setting the broker has, each
 * non-zero and safe. config/default.json mirrors it (a test keeps them equal).
 */
export const DEFAULTS: Readonly<BrokerConfig> = Object.freeze({
  port: 8000,
  host: '127.0.0.1',
  logDir: 'logs',
  logLevel: 'info',
  commands: defaultCommandWords(),
  maxLineBytes: 1024 * 1024,
  maxInFlight: 10,
  maxInFlightLimit: 1000,
  maxConnections: 10000,
  maxConnectionsPerIp: 1000,
  maxSubscriptionsPerConnection: 1000,
  maxTopics: 10000,
  maxExchanges: 1000,
  maxBindingsPerExchange: 1000,
  idleTimeoutMs: 300000,
  maxQueuedLines: 10000,
  maxPageEvents: 1000,
  workerBatchLines: 512,
  workerConcurrency: 4,
  flushBytes: 64 * 1024,
  drainTimeoutMs: 30000,
  ackTimeoutMs: 30000,
  maxAckTimeoutMs: 24 * 3600 * 1000,
  maxDeliveries: 5,
  maxPendingPerSubscriber: 1000000,
  overflowDropOldest: [],
  maxPendingBytes: 1024 * 1024 * 1024,
  atMostOnceMaxWaiting: 10000,
  publishHoldPending: 1000,
  publishHoldMaxMs: 1000,
  redeliveryCheckMs: 100,
  batchIntervalMs: 1000,
  retention: { maxAgeMs: 24 * 3600 * 1000, maxBytes: 1024 * 1024 * 1024, overrides: [] },
  retentionCheckMs: 60000,
  segmentBytes: 64 * 1024 * 1024,
  eventCacheBytes: 64 * 1024 * 1024,
  dedupeWindowMs: 120000,
  dedupeMaxIds: 1000000,
  stateCompactMinBytes: 1024 * 1024,
  stateTailBytes: 64 * 1024 * 1024,
  fsync: 'always',
  auth: { required: false, users: {} },
  authFailuresPerMinutePerIp: 10,
  tls: null,
  webhooks: WEBHOOK_DEFAULTS,
  http: { ...HTTP_DEFAULTS },
  requeueMaxEvents: 1000,
  metrics: { ...METRICS_DEFAULTS },
  alerts: [],
  alertCheckMs: ALERTS_DEFAULTS.checkMs,
  cluster: null,
})
