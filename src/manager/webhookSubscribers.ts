import { fail } from '../errors'
import type { Subscription } from '../store/subscription'
import type { Topic } from '../store/topic'
import type { Resolver } from '../webhooks/addressPolicy'
import type { Random } from '../webhooks/retryPolicy'
import { Webhook, type WebhookOutcomes, type WebhookState } from '../webhooks/webhook'
import type { HandlerContext } from './context'

/**
 * Webhook subscriptions are keyed `webhook:<name>` on their topic: a client
 * id cannot hold `:`, so no connection's `name` can ever resume (and steal)
 * a webhook's subscription, and the two kinds of names never collide.
 */
export const WEBHOOK_KEY_PREFIX = 'webhook:'

export function webhookKey (name: string): string {
  return WEBHOOK_KEY_PREFIX + name
}

/** What `webhooks <topic>` and `GET /topics/:topic/webhooks` list per webhook. */
export interface WebhookListing extends WebhookState {
  /** Events held and not in flight (waiting, delayed for a retry, owed a redelivery). */
  pending: number
}

/** A webhook as asked for by `webhook` (or `POST /topics/:topic/webhooks`), its fields already checked. */
export interface NewWebhook {
  name: string
  url: string
  secret: string
  maxInFlight: number
  maxDeliveries: number | null
  /** On a private topic, who creates it (revoke ends it by user); null otherwise. */
  user: string | null
}

/** What tests (and an embedding application) may inject into every webhook. */
export interface WebhookEnvironment {
  resolver?: Resolver
  random?: Random
  /** Extra CA certificates for https receivers. */
  ca?: string | Buffer
}

/**
 * The broker's webhook subscribers: each is a durable named subscription
 * (`Subscription.hook` set, kept by the durability layer with `H` and `F`
 * records) whose DeliverySink is a `Webhook` (src/webhooks). This class makes
 * them, lists them, ends them, brings them back after a restart, and is the
 * outcome adapter through which a Webhook acks, retries, dead-letters and
 * disables on its subscription.
 */
export class WebhookSubscribers {
  private readonly live = new Map<Subscription, Webhook>()

  constructor (private readonly ctx: HandlerContext, private readonly env: WebhookEnvironment = {}) {}

  /** What tests inject into every webhook (cluster mode's webhooks get it too). */
  get environment (): WebhookEnvironment {
    return this.env
  }

  /**
   * The ack timeout of a webhook's subscription: longer than any attempt can
   * take (webhooks.timeoutMs), so the redelivery sweep never takes back an
   * event whose request is still open; the webhook's own outcome does.
   */
  ackTimeoutMs (): number {
    return Math.min(this.ctx.config.maxAckTimeoutMs, Math.max(this.ctx.config.ackTimeoutMs, 2 * this.ctx.config.webhooks.timeoutMs + 1000))
  }

  /** After recovery: every recovered webhook subscription gets its Webhook back, with its retry state. */
  start (): void {
    for (const topic of this.ctx.store.topics.values()) {
      for (const sub of topic.subscriptions.values()) {
        if (sub.hook !== null && !this.live.has(sub)) this.open(sub)
      }
    }
  }

  /** Creates a webhook subscriber on `topic` (owed events published from now on); returns the journal ticket its reply waits for. */
  create (topic: Topic, w: NewWebhook): { sub: Subscription, webhook: Webhook, ticket: number } {
    const key = webhookKey(w.name)
    if (topic.subscriptions.has(key)) fail('WEBHOOK_EXISTS', { name: w.name, topic: topic.name })
    const sub = topic.subscribe(key, true, w.maxInFlight, this.ackTimeoutMs())
    sub.user = w.user
    sub.hook = { url: w.url, secret: w.secret, maxDeliveries: w.maxDeliveries, failures: 0, nextAttemptAt: null, disabledReason: null }
    this.ctx.durability.subscribed(sub)
    const ticket = this.ctx.durability.hooked(sub)
    const webhook = this.open(sub)
    return { sub, webhook, ticket }
  }

  /** The webhook subscription `name` of `topic`, or undefined. */
  find (topic: Topic, name: string): Subscription | undefined {
    const sub = topic.subscriptions.get(webhookKey(name))
    return sub?.hook != null && !sub.ended ? sub : undefined
  }

  /** Every webhook of `topic` with its state, in creation order. */
  list (topic: Topic): WebhookListing[] {
    const out: WebhookListing[] = []
    for (const sub of topic.subscriptions.values()) {
      const webhook = this.live.get(sub)
      if (webhook === undefined || sub.ended) continue
      out.push({ ...webhook.state(), pending: sub.pending })
    }
    return out
  }

  /** The state of one webhook subscription. */
  listing (sub: Subscription): WebhookListing {
    return { ...this.live.get(sub)!.state(), pending: sub.pending }
  }

  /** Ends a webhook subscription for good (as `unsub` does): returns the events it dropped and the ticket of its `U` record. */
  remove (sub: Subscription): { dropped: number, ticket: number } {
    const dropped = sub.pending + sub.inFlight.size
    const ticket = sub.topic.unsubscribe(sub, 'unsub') // the one end of a subscription: journals U, tells the sink
    this.stop(sub)
    return { dropped, ticket }
  }

  /** Broker shutdown: every webhook stops; events in flight are owed a redelivery (their D records are stored). */
  close (): void {
    for (const [sub, webhook] of this.live) {
      sub.detach()
      webhook.close()
    }
    this.live.clear()
  }

  /** Number of live webhooks (tests, stats). */
  get size (): number {
    return this.live.size
  }

  private open (sub: Subscription): Webhook {
    const hook = sub.hook!
    const ctx = this.ctx
    const outcomes = new SubscriptionOutcomes(ctx, sub, () => this.stop(sub))
    const webhook = new Webhook({
      topic: sub.topic.name,
      name: sub.key.slice(WEBHOOK_KEY_PREFIX.length),
      url: hook.url,
      secret: hook.secret,
      maxInFlight: sub.maxInFlight,
      maxDeliveries: hook.maxDeliveries,
    }, { config: ctx.config.webhooks, clock: ctx.clock, outcomes, log: ctx.log, ...this.env })
    outcomes.webhook = webhook
    webhook.restore({ consecutiveFailures: hook.failures, nextAttemptAt: hook.nextAttemptAt, disabledReason: hook.disabledReason })
    this.live.set(sub, webhook)
    sub.attach(webhook)
    sub.pump()
    return webhook
  }

  private stop (sub: Subscription): void {
    const webhook = this.live.get(sub)
    if (webhook === undefined) return
    this.live.delete(sub)
    webhook.close()
  }
}

/**
 * WebhookOutcomes on one Subscription: what `ack`, `nack` with a delay and
 * Redelivery's dead letters do for a connection, done for a webhook's HTTP
 * results; after each, the webhook's retry state is recorded (an `F` record)
 * if it changed, so a restart resumes the back-off where it was.
 */
class SubscriptionOutcomes implements WebhookOutcomes {
  webhook!: Webhook

  constructor (private readonly ctx: HandlerContext, private readonly sub: Subscription, private readonly stopped: () => void) {}

  acked = (key: string): void => {
    const sub = this.sub
    const d = sub.ack(key)
    if (d !== undefined) {
      this.ctx.durability.acked(sub, d.ev.offset)
      this.ctx.stats.acked++
    }
    this.syncState()
    sub.pump()
    sub.checkRangeDone()
    this.ctx.flow.progressed(sub.topic)
  }

  retryLater = (key: string, delayMs: number): void => {
    const sub = this.sub
    const d = sub.takeBack(key)
    if (d !== undefined) {
      this.ctx.store.counters.redelivered++
      if (delayMs > 0) sub.delay(d, this.ctx.clock.now() + delayMs)
      else sub.requeue(d)
    }
    this.syncState()
    sub.pump()
  }

  deadLetter = (key: string, reason: string): void => {
    const sub = this.sub
    const d = sub.takeBack(key)
    // A dead-letter topic that refuses the event (full) leaves it queued, to be tried on the schedule again.
    if (d !== undefined && !this.ctx.redelivery.deadLetter(sub, d, reason)) sub.delay(d, this.ctx.clock.now() + this.ctx.config.webhooks.retryScheduleMs[0])
    this.syncState()
    sub.pump()
    this.ctx.flow.progressed(sub.topic)
  }

  disabled = (_reason: string): void => {
    this.syncState()
  }

  ready = (): void => {
    this.sub.pump()
  }

  ended = (_reason: string): void => {
    this.stopped()
  }

  /** Records the webhook's durable retry state when it differs from what was last recorded. */
  private syncState (): void {
    const hook = this.sub.hook
    if (hook === null || this.sub.ended) return
    const s = this.webhook.state()
    const later = s.nextAttemptAt !== null && s.nextAttemptAt > (hook.nextAttemptAt ?? 0)
    if (s.consecutiveFailures === hook.failures && s.disabledReason === hook.disabledReason && !later) return
    hook.failures = s.consecutiveFailures
    hook.nextAttemptAt = s.nextAttemptAt
    hook.disabledReason = s.disabledReason
    this.ctx.durability.hookStateChanged(this.sub)
  }
}
