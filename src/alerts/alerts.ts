import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import { PatternSet } from '../auth/acl'
import type { Clock, Timer } from '../clock'
import type { BrokerConfig } from '../config/defaults'
import { ConfigError } from '../errors'
import type { Logger } from '../log'
import type { Monitoring } from '../metrics/monitoring'
import { DLQ_SUFFIX } from '../store/names'
import type { Store } from '../store/store'
import type { Topic } from '../store/topic'
import { guardedLookup, parseWebhookUrl, systemResolver, type Resolver } from '../webhooks/addressPolicy'
import { attemptDelivery } from '../webhooks/attempt'
import { parseSecret, signatureHeaders } from '../webhooks/signature'
import { parseCondition, type AlertCondition, type AlertRule } from './config'

/** One rule, checked and compiled at start-up. */
interface CompiledRule {
  index: number
  rule: AlertRule
  condition: AlertCondition
  topics: PatternSet
  url: URL
  key: Buffer
}

/** An alert that is firing: one rule on one topic (or the broker, for diskFreeBytes). */
interface Firing {
  since: number
  value: number
}

/** A firing or resolving not yet accepted by its webhook. */
interface Notice {
  rule: CompiledRule
  id: string
  body: Buffer
  attempts: number
}

/** Notices one alert webhook may have waiting; older ones are dropped (and logged) beyond this. */
const MAX_OUTBOX = 1000

/**
 * Evaluates the `alerts` rules every `alertCheckMs` on the injected clock.
 * Each rule watches one figure per matching topic (or the disk): when it
 * crosses the threshold the alert **fires**, when it is back it
 * **resolves**; each transition is logged (pino, warn) and POSTed once to the
 * rule's webhook, signed like event webhooks (Standard Webhooks, with a
 * `webhook-id` that is the same on every retry). While it stays firing
 * nothing more is sent: no storm. A POST that fails is tried again at the
 * next evaluations, up to as many times as `webhooks.retryScheduleMs` has
 * entries.
 */
export class AlertEngine {
  private readonly rules: CompiledRule[]
  private readonly firing = new Map<string, Firing>()
  private readonly outbox: Notice[] = []
  private timer: Timer | null = null
  private running: Promise<void> | null = null
  private readonly httpAgent: HttpAgent
  private readonly httpsAgent: HttpsAgent
  private readonly lookup: ReturnType<typeof guardedLookup>

  constructor (private readonly config: BrokerConfig, private readonly store: Store, private readonly monitoring: Monitoring,
    private readonly clock: Clock, private readonly log: Logger, resolver: Resolver = systemResolver) {
    this.rules = config.alerts.map((rule, index) => compile(rule, index))
    this.lookup = guardedLookup(resolver, config.webhooks.allowPrivateAddresses)
    this.httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 4, lookup: this.lookup } as never)
    this.httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 4, lookup: this.lookup } as never)
  }

  start (): void {
    if (this.rules.length === 0 || this.timer !== null) return
    this.timer = this.clock.every(this.config.alertCheckMs, () => { void this.evaluate() })
  }

  async stop (): Promise<void> {
    this.timer?.cancel()
    this.timer = null
    await this.running
    this.httpAgent.destroy()
    this.httpsAgent.destroy()
  }

  /** Alerts firing now, as `<rule index>:<topic or "">` (tests, the dashboard later). */
  get active (): string[] {
    return [...this.firing.keys()]
  }

  /** Resolves once no evaluation is running (starts none). */
  async idle (): Promise<void> {
    await this.running
  }

  /** One evaluation (or the one running): transitions, then the outbox. */
  evaluate (): Promise<void> {
    if (this.running === null) this.running = this.run().finally(() => { this.running = null })
    return this.running
  }

  private async run (): Promise<void> {
    const now = this.clock.now()
    const seen = new Set<string>()
    for (const r of this.rules) {
      for (const [subject, value] of await this.figures(r, now)) {
        const key = `${r.index}:${subject ?? ''}`
        const over = r.condition.op === '>' ? value > r.condition.threshold : value < r.condition.threshold
        const was = this.firing.get(key)
        if (over) {
          seen.add(key)
          if (was === undefined) {
            this.firing.set(key, { since: now, value })
            this.transition(r, subject, 'firing', value, now, now)
          } else {
            was.value = value
          }
        }
      }
    }
    for (const [key, f] of this.firing) {
      if (seen.has(key)) continue
      // Back under the threshold, or its topic is gone.
      this.firing.delete(key)
      const [index, subject] = splitKey(key)
      const r = this.rules[index]
      this.transition(r, subject, 'resolved', await this.currentValue(r, subject, now), f.since, now)
    }
    await this.flush()
  }

  /** The rule's figure for each topic it watches (one broker-wide figure for diskFreeBytes). */
  private async figures (r: CompiledRule, now: number): Promise<Array<[string | null, number]>> {
    if (r.condition.metric === 'diskFreeBytes') return [[null, (await this.monitoring.disk.measure()).freeBytes]]
    const out: Array<[string | null, number]> = []
    for (const t of [...this.store.topics.values()]) {
      if (!r.topics.matches(t.name)) continue
      if (r.condition.metric === 'dlq' && t.name.endsWith(DLQ_SUFFIX)) continue // a dead-letter topic has none of its own
      out.push([t.name, await this.figure(r, t, now)])
    }
    return out
  }

  private async figure (r: CompiledRule, t: Topic, now: number): Promise<number> {
    switch (r.condition.metric) {
      case 'pending': return sum(t, s => s.pending)
      case 'inFlight': return sum(t, s => s.inFlight.size)
      case 'oldestPendingMs': return await this.monitoring.ages.topicAgeMs(t, now)
      default: { // dlq
        const dlq = this.store.topic(t.name + DLQ_SUFFIX)
        let n = 0
        if (dlq !== undefined) for (const s of dlq.subscriptions.values()) n = Math.max(n, s.pending + s.inFlight.size)
        return n
      }
    }
  }

  private async currentValue (r: CompiledRule, subject: string | null, now: number): Promise<number | null> {
    if (subject === null) return (await this.monitoring.disk.measure()).freeBytes
    const t = this.store.topic(subject)
    return t === undefined ? null : await this.figure(r, t, now)
  }

  /** Logs a transition and queues its POST. */
  private transition (r: CompiledRule, subject: string | null, status: 'firing' | 'resolved', value: number | null, since: number, now: number): void {
    const { when } = r.rule
    this.log.warn({ alert: when, topic: subject, value, threshold: r.condition.threshold, since, webhook: r.url.origin }, status === 'firing' ? 'alert firing' : 'alert resolved')
    const body = Buffer.from(JSON.stringify({
      type: 'ackline.alert',
      status,
      when,
      topic: subject,
      rule: r.rule.topic ?? '*',
      value,
      threshold: r.condition.threshold,
      since,
      at: now,
    }))
    // Stable across retries (a receiver can drop duplicates), distinct for every transition.
    const id = `alert_${r.index}_${since}_${status}_${Buffer.from(subject ?? '').toString('base64url')}`
    if (this.outbox.length >= MAX_OUTBOX) {
      const dropped = this.outbox.shift()!
      this.log.error({ webhook: dropped.rule.url.origin, id: dropped.id }, 'alert webhook outbox full: oldest notice dropped')
    }
    this.outbox.push({ rule: r, id, body, attempts: 0 })
  }

  /** Sends what is queued, in order; a failure stays queued for the next evaluation. */
  private async flush (): Promise<void> {
    const maxAttempts = this.config.webhooks.retryScheduleMs.length + 1
    const waiting = this.outbox.splice(0)
    for (const n of waiting) {
      const r = n.rule
      const result = await attemptDelivery({
        url: r.url,
        agent: r.url.protocol === 'https:' ? this.httpsAgent : this.httpAgent,
        lookup: this.lookup,
        allowPrivate: this.config.webhooks.allowPrivateAddresses,
        body: n.body,
        headers: signatureHeaders(r.key, n.id, this.clock.now(), n.body),
        timeoutMs: this.config.webhooks.timeoutMs,
        clock: this.clock,
      })
      if (result.ok) continue
      n.attempts++
      if (n.attempts >= maxAttempts) {
        this.log.error({ webhook: r.url.origin, id: n.id, error: result.error, attempts: n.attempts }, 'alert webhook failed; notice dropped')
      } else {
        this.log.warn({ webhook: r.url.origin, id: n.id, error: result.error, attempts: n.attempts }, 'alert webhook failed; retrying at the next check')
        this.outbox.push(n)
      }
    }
  }
}

function compile (rule: AlertRule, index: number): CompiledRule {
  const where = `alerts[${index}]`
  const condition = parseCondition(rule.when)
  if (condition === null) throw new ConfigError(`invalid config: ${where}.when ${JSON.stringify(rule.when)} is not "<figure> > N" or "<figure> < N"`)
  const url = parseWebhookUrl(rule.webhook)
  if (typeof url === 'string') throw new ConfigError(`invalid config: ${where}.webhook ${url}`)
  const key = parseSecret(rule.secret)
  if (typeof key === 'string') throw new ConfigError(`invalid config: ${where}.secret ${key}`)
  return { index, rule, condition, topics: new PatternSet([rule.topic ?? '*']), url, key }
}

function splitKey (key: string): [number, string | null] {
  const colon = key.indexOf(':')
  const subject = key.slice(colon + 1)
  return [Number(key.slice(0, colon)), subject === '' ? null : subject]
}

function sum (t: Topic, f: (s: import('../store/subscription').Subscription) => number): number {
  let n = 0
  for (const s of t.subscriptions.values()) n += f(s)
  return n
}
