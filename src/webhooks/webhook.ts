import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import type { Clock, Timer } from '../clock'
import type { Logger } from '../log'
import { deliveryJson, type StoredEvent } from '../store/event'
import type { DeliverySink } from '../store/subscription'
import { guardedLookup, parseWebhookUrl, systemResolver, type LookupFunction, type Resolver } from './addressPolicy'
import { attemptDelivery, type AttemptResult } from './attempt'
import type { WebhookConfig } from './config'
import { retryAfterDelay, parseRetryAfter, scheduledDelay, type Random } from './retryPolicy'
import { messageId, parseSecret, signatureHeaders } from './signature'

/** A webhook subscriber as created through the API (and kept durable by the store). */
export interface WebhookSpec {
  topic: string
  /** The durable subscription's name. */
  name: string
  url: string
  /** `whsec_<base64>`; see signature.ts. */
  secret: string
  /** Requests open at once; `webhooks.maxInFlight` when absent. */
  maxInFlight?: number
  /** After this many failed deliveries an event is dead-lettered; null or absent: retried for ever. */
  maxDeliveries?: number | null
}

/**
 * What a webhook tells the store about its deliveries: the narrow port the
 * integration implements on a Subscription (see docs/webhooks.md). Every call
 * comes from an HTTP result, never from inside `deliver()`, so the adapter
 * may pump the subscription from any of them.
 */
export interface WebhookOutcomes {
  /** A 2xx answer: ack the event (as `ack <topic> <id>` does), then pump. */
  acked: (key: string) => void
  /** A failed attempt: take the event out of flight and deliver it again after delayMs (0: as soon as possible), then pump. */
  retryLater: (key: string, delayMs: number) => void
  /** A failed attempt at the webhook's maxDeliveries: move the event to the dead-letter topic, then pump. */
  deadLetter: (key: string, reason: string) => void
  /** The receiver answered 410 Gone: the webhook stopped delivering; record that durably. */
  disabled: (reason: string) => void
  /** The webhook can take deliveries again (its back-off is over, or it was enabled): pump. */
  ready: () => void
  /** The store ended the subscription itself (its topic was deleted, its range done, a revoke): stop the webhook. */
  ended?: (reason: string) => void
}

/** What a webhook needs from the broker. */
export interface WebhookDeps {
  config: WebhookConfig
  clock: Clock
  outcomes: WebhookOutcomes
  /** Name resolution for the address check at connect time; the system resolver when absent. */
  resolver?: Resolver
  /** Jitter source; Math.random when absent. */
  random?: Random
  /** Extra CA certificates to trust for https receivers (a private CA; tests). */
  ca?: string | Buffer
  log?: Logger
}

/** The retry state that survives a restart (the store persists it; `restore` puts it back). */
export interface WebhookDurableState {
  consecutiveFailures: number
  /** When the webhook may send again after a failure (ms since epoch); null when not backing off. */
  nextAttemptAt: number | null
  /** Why the webhook stopped (410 Gone); null while it delivers. */
  disabledReason: string | null
}

/** A snapshot for `GET /topics/:topic/webhooks` (the subscription adds `pending`). */
export interface WebhookState extends WebhookDurableState {
  topic: string
  name: string
  url: string
  maxInFlight: number
  maxDeliveries: number | null
  /** Requests open now. */
  inFlight: number
  disabled: boolean
  /** Requests sent, answered with 2xx, and failed, since the broker started. */
  attempts: number
  delivered: number
  failed: number
  lastAttemptAt: number | null
  lastSuccessAt: number | null
  lastFailureAt: number | null
  /** HTTP status of the last answered attempt; null before any, or when the last attempt got no answer. */
  lastStatus: number | null
  /** What went wrong the last time an attempt failed; null before any failure. */
  lastError: string | null
}

/**
 * One webhook subscriber: the DeliverySink of its durable subscription. Each
 * delivery is one signed POST on this webhook's own keep-alive agent, so a
 * slow or dead receiver holds only its own sockets and slots.
 *
 * Failures back off twice over. The event goes back to the store with the
 * delay of its own delivery count (so a poison event waits longer and
 * longer while others flow). The webhook itself pauses for the delay of its
 * consecutive failures and then probes with one request at a time until an
 * attempt succeeds, so a receiver that is down gets one request per
 * schedule step, not one per pending event. Failures of requests that were
 * already in flight when a failure was counted do not count again.
 */
export class Webhook implements DeliverySink {
  readonly topic: string
  readonly name: string
  readonly url: URL
  readonly maxInFlight: number
  readonly maxDeliveries: number | null
  private readonly key: Buffer
  private readonly config: WebhookConfig
  private readonly clock: Clock
  private readonly outcomes: WebhookOutcomes
  private readonly random: Random
  private readonly log: Logger | undefined
  private readonly agent: HttpAgent | HttpsAgent
  private readonly lookup: LookupFunction
  private inFlight = 0
  private consecutiveFailures = 0
  /** Counted failures so far; a failure counts only if its request was sent after the previous counted one. */
  private failureEpoch = 0
  private pausedUntil = 0
  private pauseTimer: Timer | null = null
  private disabledReason: string | null = null
  private closed = false
  private attempts = 0
  private delivered = 0
  private failed = 0
  private lastAttemptAt: number | null = null
  private lastSuccessAt: number | null = null
  private lastFailureAt: number | null = null
  private lastStatus: number | null = null
  private lastError: string | null = null

  /** Throws an Error naming the problem when the URL or the secret is not usable (check them before, for a 400). */
  constructor (spec: WebhookSpec, deps: WebhookDeps) {
    const url = parseWebhookUrl(spec.url)
    if (typeof url === 'string') throw new Error(url)
    const key = parseSecret(spec.secret)
    if (typeof key === 'string') throw new Error(key)
    if (spec.maxInFlight !== undefined && !(Number.isInteger(spec.maxInFlight) && spec.maxInFlight >= 1)) throw new Error('maxInFlight must be an integer of at least 1')
    if (spec.maxDeliveries != null && !(Number.isInteger(spec.maxDeliveries) && spec.maxDeliveries >= 1)) throw new Error('maxDeliveries must be an integer of at least 1, or null')
    this.topic = spec.topic
    this.name = spec.name
    this.url = url
    this.key = key
    this.config = deps.config
    this.maxInFlight = spec.maxInFlight ?? deps.config.maxInFlight
    this.maxDeliveries = spec.maxDeliveries ?? null
    this.clock = deps.clock
    this.outcomes = deps.outcomes
    this.random = deps.random ?? Math.random
    this.log = deps.log
    this.lookup = guardedLookup(deps.resolver ?? systemResolver, deps.config.allowPrivateAddresses)
    const agentOptions = { keepAlive: true, maxSockets: this.maxInFlight, lookup: this.lookup }
    this.agent = url.protocol === 'https:'
      ? new HttpsAgent({ ...agentOptions, ...(deps.ca !== undefined ? { ca: deps.ca } : {}) })
      : new HttpAgent(agentOptions)
  }

  /** False while disabled, closed, backing off, or at the in-flight cap (1 while probing after failures). */
  canDeliver (): boolean {
    if (this.closed || this.disabledReason !== null) return false
    if (this.inFlight >= (this.consecutiveFailures > 0 ? 1 : this.maxInFlight)) return false
    return this.pausedUntil <= this.clock.now()
  }

  /** A failing or disabled webhook is not a reader that publishers should wait for (flow control). */
  stalled (): boolean {
    return this.closed || this.disabledReason !== null || this.consecutiveFailures > 0
  }

  /** Sends one event: the `EVENT` body of this delivery, signed. The outcome comes later through WebhookOutcomes. */
  deliver (topic: string, ev: StoredEvent, deliveries: number): void {
    if (this.closed) return // the subscription was detached; its in-flight events are owed a redelivery there
    const now = this.clock.now()
    const body = Buffer.from(deliveryJson(ev, deliveries))
    const headers = signatureHeaders(this.key, messageId(topic, ev.offset, ev.key), now, body)
    this.inFlight++
    this.attempts++
    this.lastAttemptAt = now
    const epoch = this.failureEpoch
    void attemptDelivery({
      url: this.url,
      agent: this.agent,
      lookup: this.lookup,
      allowPrivate: this.config.allowPrivateAddresses,
      body,
      headers,
      timeoutMs: this.config.timeoutMs,
      clock: this.clock,
    }).then(result => this.settle(ev.key, deliveries, epoch, result))
  }

  private settle (key: string, deliveries: number, epoch: number, r: AttemptResult): void {
    this.inFlight--
    if (this.closed) return
    const now = this.clock.now()
    if (r.ok) {
      this.delivered++
      this.consecutiveFailures = 0
      this.lastStatus = r.status
      this.lastSuccessAt = now
      this.outcomes.acked(key)
      return
    }
    this.failed++
    this.lastStatus = r.status
    this.lastError = r.error
    this.lastFailureAt = now
    if (r.status === 410) {
      this.disable(`${this.url.origin} answered 410 Gone`, key)
      return
    }
    const asked = r.status === 429 || r.status === 503 ? parseRetryAfter(r.retryAfter, now) : null
    const retryAfter = asked === null ? null : retryAfterDelay(this.config, asked, this.random)
    if (epoch === this.failureEpoch) {
      this.failureEpoch++
      this.consecutiveFailures++
      this.pauseUntil(now + (retryAfter ?? scheduledDelay(this.config, this.consecutiveFailures, this.random)))
    } else if (retryAfter !== null) {
      this.pauseUntil(now + retryAfter) // the receiver's word holds for the whole endpoint
    }
    this.log?.debug({ topic: this.topic, webhook: this.name, key, deliveries, error: r.error }, 'webhook delivery failed')
    if (this.maxDeliveries !== null && deliveries >= this.maxDeliveries) {
      this.outcomes.deadLetter(key, `webhook ${this.name}: ${r.error}`)
      return
    }
    this.outcomes.retryLater(key, retryAfter ?? scheduledDelay(this.config, deliveries, this.random))
  }

  /** Backs off until `at` (never shortening a longer pause), then tells the store to pump. */
  private pauseUntil (at: number): void {
    if (at <= this.pausedUntil) return
    this.pausedUntil = at
    this.pauseTimer?.cancel()
    this.pauseTimer = this.clock.after(at - this.clock.now(), () => this.pauseOver())
  }

  private pauseOver (): void {
    this.pauseTimer = null
    const left = this.pausedUntil - this.clock.now()
    if (left > 0) { this.pauseTimer = this.clock.after(left, () => this.pauseOver()); return } // a timer that fired early
    if (!this.closed && this.disabledReason === null) this.outcomes.ready()
  }

  private disable (reason: string, key: string): void {
    this.disabledReason = reason
    this.pauseTimer?.cancel()
    this.pauseTimer = null
    this.log?.warn({ topic: this.topic, webhook: this.name, reason }, 'webhook disabled')
    this.outcomes.retryLater(key, 0) // the event stays pending for when the webhook is enabled again
    this.outcomes.disabled(reason)
  }

  /** DeliverySink: the store ended the subscription (topic deleted, revoke); the broker closes the webhook. */
  ended (_sub: unknown, reason: string): void {
    this.outcomes.ended?.(reason)
  }

  /** Clears a 410 and the failure streak (an API call, or a re-created webhook); delivery resumes at once. */
  enable (): void {
    if (this.closed) return
    this.disabledReason = null
    this.consecutiveFailures = 0
    this.pausedUntil = 0
    this.pauseTimer?.cancel()
    this.pauseTimer = null
    this.outcomes.ready()
  }

  /** Puts back the retry state the store kept over a restart. Call before the subscription is attached. */
  restore (s: WebhookDurableState): void {
    this.consecutiveFailures = s.consecutiveFailures
    this.disabledReason = s.disabledReason
    if (s.nextAttemptAt !== null && s.disabledReason === null && s.nextAttemptAt > this.clock.now()) this.pauseUntil(s.nextAttemptAt)
  }

  /** Where the webhook stands, for the API and for the store to persist (`WebhookDurableState` fields). */
  state (): WebhookState {
    const now = this.clock.now()
    return {
      topic: this.topic,
      name: this.name,
      url: this.url.href,
      maxInFlight: this.maxInFlight,
      maxDeliveries: this.maxDeliveries,
      inFlight: this.inFlight,
      consecutiveFailures: this.consecutiveFailures,
      nextAttemptAt: this.disabledReason === null && this.pausedUntil > now ? this.pausedUntil : null,
      disabled: this.disabledReason !== null,
      disabledReason: this.disabledReason,
      attempts: this.attempts,
      delivered: this.delivered,
      failed: this.failed,
      lastAttemptAt: this.lastAttemptAt,
      lastSuccessAt: this.lastSuccessAt,
      lastFailureAt: this.lastFailureAt,
      lastStatus: this.lastStatus,
      lastError: this.lastError,
    }
  }

  /**
   * Stops the webhook: timers cancelled, sockets closed, results of requests
   * still open ignored. Detach or destroy its subscription first, so the
   * events in flight are owed a redelivery (or released) there.
   */
  close (): void {
    this.closed = true
    this.pauseTimer?.cancel()
    this.pauseTimer = null
    this.agent.destroy()
  }
}
