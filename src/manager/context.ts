import type { AuthService } from '../auth/auth'
import type { Clock } from '../clock'
import type { BrokerConfig } from '../config/defaults'
import type { Logger } from '../log'
import type { BrokerStats } from '../stats/stats'
import type { Durability } from '../persistence/durability'
import type { Redelivery } from './redelivery'
import type { FlowControl } from './flowControl'
import type { CommandRegistry } from '../commands/registry'
import type { Store } from '../store/store'
import type { Session } from './session'
import type { WebhookSubscribers } from './webhookSubscribers'

/** Everything a command handler may use. */
export interface HandlerContext {
  readonly config: BrokerConfig
  readonly store: Store
  /** The commands with their configured words: usage and `help` texts. */
  readonly commands: CommandRegistry
  /** Live holders of durable names: one connection per name. */
  readonly names: Map<string, Session>
  readonly log: Logger
  /** Broker-wide counters for `stats` (plain integer increments on the hot path). */
  readonly stats: BrokerStats
  /** Journal and batcher: handlers report changes here and send confirming replies through it. */
  readonly durability: Durability
  /** Ack timeouts, nack delays and dead letters. */
  redelivery: Redelivery
  /** Holds publishers back while an active subscriber lags (publishHoldPending). */
  readonly flow: FlowControl
  /** Users, sessions' identities, grants, failed-auth limiter. */
  readonly auth: AuthService
  /** Webhook subscribers: durable subscriptions that deliver by HTTP POST. */
  webhooks: WebhookSubscribers
  /** Applies a session's waiting lines again after a reply given later (replyLater.ts). */
  readonly resume: (session: Session) => void
  /** The broker's clock (the store's), injectable for tests. */
  readonly clock: Clock
}
