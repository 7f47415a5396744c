import { fail } from '../errors'
import type { HandlerContext } from '../manager/context'
import type { NewWebhook, WebhookListing } from '../manager/webhookSubscribers'
import { Webhook, type WebhookOutcomes, type WebhookState } from '../webhooks/webhook'
import { checkStoredEvent } from '../store/event'
import { storedEventOf } from './eventText'
import { nameKey, subKey, topicPrefix, WEBHOOKS_KEY, webhookLeaseName, SUB_KEYS } from './keys'
import type { ClusterNode } from './node'
import { pulledFrom } from './redisStore'

/** Records a webhook's state in its meta hash (KEYS[1]) only while it exists: never re-makes an ended one's. */
const RECORD = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'failures', ARGV[1], 'disabled', ARGV[2], 'state', ARGV[3]) end
return 1
`

/** A webhook this node delivers: it holds its lease and is the holder of its subscription. */
interface HeldWebhook {
  topic: string
  name: string
  /** Its subscription key, `w:<name>`. */
  key: string
  /** This node's consumer id for it, `<node>/w:<name>`. */
  consumer: string
  /** Its `{webhooks}` registry entry, `<topic> <name>`, and its lease name. */
  entry: string
  lease: string
  webhook: Webhook
  pulling: boolean
  again: boolean
  closed: boolean
}

/** The meta hash key of a webhook's subscription. */
function metaKey (topic: string, key: string): string {
  return `${topicPrefix(topic)}s:${key}:${SUB_KEYS.meta}`
}

/**
 * Webhooks in cluster mode (docs/cluster.md#webhooks). A webhook is a durable
 * subscription `w:<name>` of its topic whose meta hash holds its spec (url,
 * secret, caps) and its durable retry state, listed in the `{webhooks}`
 * registry. Exactly one live node delivers it: the one holding its lease
 * (renewed with the names on every heartbeat, so a dead node's webhooks are
 * taken over once nodeTtlMs has passed). Each node scans the registry every
 * pullIntervalMs and leases what nobody holds; taking one makes it the
 * subscription's holder, which gives the previous holder's in-flight events
 * back to the front of the queue (redelivered with deliveries counted on).
 * The holder pulls events with the pull script into the single-node Webhook
 * engine, and maps its outcomes to the ack / nack / dead-letter scripts.
 */
export class ClusterWebhooks {
  /** Held here, by registry entry. */
  private readonly held = new Map<string, HeldWebhook>()
  /** The leases this node holds: lease name → consumer id (Leases.renew). */
  readonly leases = new Map<string, string>()
  private scanning = false

  constructor (private readonly node: ClusterNode) {}

  /** `webhook`: makes the subscription, registers it, and takes it here. */
  async create (ctx: HandlerContext, topic: string, w: NewWebhook): Promise<void> {
    const node = this.node
    const key = subKey.webhook(w.name)
    const r = await node.store.run('acklineWebhookCreate', topic, [key, w.maxInFlight, ctx.webhooks.ackTimeoutMs(), w.url, w.secret, w.maxDeliveries ?? '', w.user ?? ''], true)
    if (r[0] === -1) fail('UNKNOWN_TOPIC.sub', { topic })
    if (r[0] === -2) fail('WEBHOOK_EXISTS', { name: w.name, topic })
    await node.store.bounded('SADD', node.store.redis.sadd(WEBHOOKS_KEY, `${topic} ${w.name}`))
    await this.claim(`${topic} ${w.name}`)
  }

  /** `webhooks`: every webhook of the topic with its state (its holder's, published in Redis), in creation order. */
  async list (topic: string): Promise<WebhookListing[]> {
    const node = this.node
    const redis = node.store.redis
    const keys = (await node.store.bounded('SMEMBERS', redis.smembers(topicPrefix(topic) + 'subs'))).filter(k => k.startsWith('w:'))
    const rows = await Promise.all(keys.map(async key => {
      const base = `${topicPrefix(topic)}s:${key}:`
      const [meta, q, dl, inFlight] = await node.store.bounded('webhooks', Promise.all([
        redis.hgetall(base + SUB_KEYS.meta), redis.zcard(base + SUB_KEYS.pending), redis.zcard(base + SUB_KEYS.delayed), redis.zcard(base + SUB_KEYS.inFlight)]))
      return { key, meta, pending: q + dl, inFlight }
    }))
    const out: Array<{ order: number, listing: WebhookListing }> = []
    for (const { key, meta, pending, inFlight } of rows) {
      if (meta.url === undefined) continue
      const name = key.slice(2)
      const live = this.held.get(`${topic} ${name}`)
      const state: WebhookState = live !== undefined ? live.webhook.state() : storedState(topic, name, meta, inFlight)
      out.push({ order: Number(meta.order), listing: { ...state, pending } })
    }
    return out.sort((x, y) => x.order - y.order).map(o => o.listing)
  }

  /** `unwebhook`: ends it cluster-wide (its holder finds it gone at its next pull); returns the events dropped, or null when there is none. */
  async remove (topic: string, name: string): Promise<number | null> {
    const node = this.node
    const key = subKey.webhook(name)
    const meta = await node.store.bounded('HEXISTS', node.store.redis.hexists(metaKey(topic, key), 'url'))
    if (meta !== 1) return null
    const r = await node.store.run('acklineUnsubscribe', topic, [key], true)
    await node.store.bounded('SREM', node.store.redis.srem(WEBHOOKS_KEY, `${topic} ${name}`))
    const held = this.held.get(`${topic} ${name}`)
    if (held !== undefined) this.drop(held)
    node.announce(topic) // its holder elsewhere pulls, finds it gone and stops
    return Number(r[0]) < 0 ? null : Number(r[0])
  }

  /** Every pullIntervalMs: takes the webhooks nobody holds, and pulls for those held here. */
  scan (): void {
    for (const h of this.held.values()) this.pull(h)
    if (this.scanning || this.node.stopped) return
    this.scanning = true
    const store = this.node.store
    store.bounded('SMEMBERS', store.redis.smembers(WEBHOOKS_KEY)).then(async entries => {
      // A lease lost (this node stalled past nodeTtlMs and another took the webhook): stop here, so one node delivers.
      for (const h of [...this.held.values()]) {
        if (await store.bounded('GET', store.redis.get(nameKey(h.lease))) !== h.consumer) this.drop(h, false)
      }
      for (const entry of entries) if (!this.held.has(entry)) await this.claim(entry)
    }).catch((err: unknown) => this.node.log.warn({ err }, 'webhook scan failed; retried at the next tick'))
      .finally(() => { this.scanning = false })
  }

  /** New events in `topic` (an announcement): its webhooks held here pull. */
  heard (topic: string): void {
    for (const h of this.held.values()) if (h.topic === topic) this.pull(h)
  }

  /** Takes a webhook if its lease is free: becomes its subscription's holder and starts delivering. */
  private async claim (entry: string): Promise<void> {
    const node = this.node
    if (this.held.has(entry) || node.stopped) return
    const space = entry.indexOf(' ')
    const topic = entry.slice(0, space)
    const name = entry.slice(space + 1)
    const key = subKey.webhook(name)
    const lease = webhookLeaseName(topic, name)
    const consumer = `${node.id}/${key}`
    if (!await node.leases.acquire(lease, consumer)) return
    this.leases.set(lease, consumer)
    try {
      await this.open(entry, topic, name, key, lease, consumer)
    } catch (err) {
      this.unlease(lease, consumer) // another node (or this one, next scan) tries again
      throw err
    }
  }

  private async open (entry: string, topic: string, name: string, key: string, lease: string, consumer: string): Promise<void> {
    const node = this.node
    const ctx = node.context
    const meta = await node.store.bounded('HGETALL', node.store.redis.hgetall(metaKey(topic, key)))
    if (meta.url === undefined || ctx === null) {
      // Its topic or the webhook is gone: the registry forgets it.
      if (meta.url === undefined) await node.store.bounded('SREM', node.store.redis.srem(WEBHOOKS_KEY, entry))
      this.unlease(lease, consumer)
      return
    }
    // Holder change: what the previous holder had in flight goes back to the front of the queue.
    if ((await node.store.run('acklineWebhookTake', topic, [key, consumer], true))[0] === -1) {
      this.unlease(lease, consumer) // ended meanwhile; the next scan drops its entry
      return
    }
    const outcomes = new HeldOutcomes(this, node)
    const webhook = new Webhook({
      topic,
      name,
      url: meta.url,
      secret: meta.secret,
      maxInFlight: Number(meta.maxInFlight),
      maxDeliveries: meta.maxDeliveries === '' || meta.maxDeliveries === undefined ? null : Number(meta.maxDeliveries),
    }, { config: ctx.config.webhooks, clock: node.clock, outcomes, log: node.log, ...ctx.webhooks.environment })
    webhook.restore({ consecutiveFailures: Number(meta.failures ?? 0), nextAttemptAt: null, disabledReason: meta.disabled === '' || meta.disabled === undefined ? null : meta.disabled })
    const h: HeldWebhook = { topic, name, key, consumer, entry, lease, webhook, pulling: false, again: false, closed: false }
    outcomes.held = h
    this.held.set(entry, h)
    await node.announcer.listen(topic)
    node.log.info({ topic, webhook: name }, 'delivering webhook')
    this.pull(h)
  }

  /** Moves events into flight for the webhook (as many as it can take: one while it probes after failures) and sends them. */
  pull (h: HeldWebhook): void {
    if (h.closed || this.node.stopped) return
    if (h.pulling) {
      h.again = true
      return
    }
    if (!h.webhook.canDeliver()) return // ready() pulls again
    h.pulling = true
    const budget = h.webhook.state().consecutiveFailures > 0 ? 1 : ''
    this.node.store.run('acklinePull', h.topic, [h.key, h.consumer, '', budget], false).then(reply => {
      if (reply[0] === 1) {
        this.drop(h) // unwebhook, or its topic deleted
        return
      }
      for (const p of pulledFrom(reply, 1)) {
        const ev = storedEventOf(p.text, p.offset)
        // Its id as `ack` takes it (the webhook acks by it, and its message id is made of it).
        ev.key = String(checkStoredEvent(p.text).id)
        h.webhook.deliver(h.topic, ev, p.deliveries)
      }
    }).catch((err: unknown) => {
      this.node.log.warn({ err, topic: h.topic, webhook: h.name }, 'webhook pull failed; retried at the next tick')
    }).finally(() => {
      h.pulling = false
      if (h.again) {
        h.again = false
        this.pull(h)
      }
    })
  }

  /** Stops delivering a webhook here and frees its lease (`release` false: it is no longer ours). */
  drop (h: HeldWebhook, release = true): void {
    if (h.closed) return
    h.closed = true
    h.webhook.close()
    this.held.delete(h.entry)
    this.node.announcer.unlisten(h.topic)
    if (release) this.unlease(h.lease, h.consumer)
    else this.leases.delete(h.lease)
  }

  private unlease (lease: string, consumer: string): void {
    this.leases.delete(lease)
    this.node.leases.release(lease, consumer).catch((err: unknown) => this.node.log.warn({ err, lease }, 'webhook lease release failed; it expires'))
  }

  /** Clean stop: each webhook held here gives its in-flight events back and its lease up, for another node to take. */
  async stop (): Promise<void> {
    const node = this.node
    for (const h of [...this.held.values()]) {
      h.closed = true
      h.webhook.close()
      this.held.delete(h.entry)
      await node.store.run('acklineDetach', h.topic, [h.key, h.consumer], false).catch(() => {})
      await node.leases.release(h.lease, h.consumer).catch(() => {})
      this.leases.delete(h.lease)
    }
  }

  /** The node died (tests: kill -9): its requests stop with it; nothing is released (its leases expire). */
  crashed (): void {
    for (const h of this.held.values()) {
      h.closed = true
      h.webhook.close()
    }
    this.held.clear()
    this.leases.clear()
  }

  /** Records the holder's state in the meta hash: failures and a 410 durably, the rest for `webhooks` on other nodes. */
  record (h: HeldWebhook): void {
    if (h.closed) return
    const s = h.webhook.state()
    this.node.store.bounded('EVAL', this.node.store.redis.eval(RECORD, 1, metaKey(h.topic, h.key), s.consecutiveFailures, s.disabledReason ?? '', JSON.stringify(s)))
      .catch((err: unknown) => this.node.log.warn({ err, topic: h.topic, webhook: h.name }, 'recording webhook state failed'))
  }
}

/** A webhook's state as its holder last recorded it (or as made, before any attempt); inFlight from Redis. */
function storedState (topic: string, name: string, meta: Record<string, string>, inFlight: number): WebhookState {
  const recorded = meta.state === undefined ? null : JSON.parse(meta.state) as WebhookState
  const disabledReason = meta.disabled === '' || meta.disabled === undefined ? null : meta.disabled
  return {
    topic,
    name,
    url: recorded?.url ?? new URL(meta.url).href,
    maxInFlight: Number(meta.maxInFlight),
    maxDeliveries: meta.maxDeliveries === '' || meta.maxDeliveries === undefined ? null : Number(meta.maxDeliveries),
    inFlight,
    consecutiveFailures: Number(meta.failures ?? 0),
    nextAttemptAt: recorded?.nextAttemptAt ?? null,
    disabled: disabledReason !== null,
    disabledReason,
    attempts: recorded?.attempts ?? 0,
    delivered: recorded?.delivered ?? 0,
    failed: recorded?.failed ?? 0,
    lastAttemptAt: recorded?.lastAttemptAt ?? null,
    lastSuccessAt: recorded?.lastSuccessAt ?? null,
    lastFailureAt: recorded?.lastFailureAt ?? null,
    lastStatus: recorded?.lastStatus ?? null,
    lastError: recorded?.lastError ?? null,
  }
}

/**
 * WebhookOutcomes on a webhook's subscription in Redis: a 2xx is the ack
 * script, a failure the nack script with the delay (never dead-lettering by
 * itself: isDeadLetterTopic set), the webhook's maxDeliveries the nack
 * script that hands the event to the dead-letter move, as a connection's
 * `ack`, `nack <delay>` and dead letters do.
 */
class HeldOutcomes implements WebhookOutcomes {
  held!: HeldWebhook

  constructor (private readonly hooks: ClusterWebhooks, private readonly node: ClusterNode) {}

  private after (work: Promise<unknown>, what: string): void {
    const h = this.held
    work.catch((err: unknown) => this.node.log.warn({ err, topic: h.topic, webhook: h.name }, `webhook ${what} failed; the event is redelivered after its ack timeout`))
      .finally(() => {
        this.hooks.record(h)
        this.hooks.pull(h)
      })
  }

  acked = (id: string): void => {
    const h = this.held
    this.after(this.node.store.run('acklineAck', h.topic, [h.key, h.consumer, id], true).then(r => {
      if (Number(r[0]) === 0 && this.node.context !== null) this.node.context.stats.acked++
    }), 'ack')
  }

  retryLater = (id: string, delayMs: number): void => {
    const h = this.held
    this.after(this.node.store.run('acklineNack', h.topic, [h.key, h.consumer, id, delayMs, 0, 1], true).then(r => {
      if (Number(r[0]) === 0 && this.node.context !== null) this.node.context.store.counters.redelivered++
    }), 'retry')
  }

  deadLetter = (id: string, reason: string): void => {
    const h = this.held
    this.after(this.node.store.run('acklineNack', h.topic, [h.key, h.consumer, id, 0, 0, 0], true).then(async r => {
      if (r[0] === 1) await this.node.deadLetter(h.topic, h.key, Number(r[1]), Number(r[2]), String(r[3]), reason)
    }), 'dead letter')
  }

  disabled = (_reason: string): void => {
    this.hooks.record(this.held)
  }

  ready = (): void => {
    this.hooks.pull(this.held)
  }

  ended = (_reason: string): void => {
    this.hooks.drop(this.held)
  }
}

/** The lease key of a webhook (tests). */
export function webhookLeaseKey (topic: string, name: string): string {
  return nameKey(webhookLeaseName(topic, name))
}
