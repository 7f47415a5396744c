import { randomBytes } from 'node:crypto'
import type { Clock, Timer } from '../clock'
import type { BrokerConfig } from '../config/defaults'
import type { Logger } from '../log'
import type { HandlerContext } from '../manager/context'
import type { Session } from '../manager/session'
import { fail } from '../errors'
import { DLQ_SUFFIX } from '../store/names'
import { Announcer, type AnnouncementKind } from './announcer'
import type { ClusterConfig } from './config'
import { deadLetterParts, storedEventOf } from './eventText'
import { granteeOf, grantsOf } from './grants'
import { topicPrefix } from './keys'
import { Leases } from './leases'
import { LocalSubscription, LocalSubscriptions } from './localSubscriptions'
import { Reaper } from './reaper'
import { ClusterStore, pulledFrom } from './redisStore'
import { Wildcards } from './wildcards'
import { ClusterWebhooks } from './webhooks'

/** Events an at-most-once subscription takes per pull (the pull script's batch). */
const AT_MOST_ONCE_BATCH = 256

/** What the manager tells a cluster node about its sessions (Manager.sessionHooks). */
export interface SessionHooks {
  /** The session closed: its subscriptions end here (named ones wait in Redis), its name is released. */
  disconnected: (session: Session) => void
  /** The session's socket drained: its subscriptions may take more. */
  drained: (session: Session) => void
}

/**
 * One Ackline node of a cluster (docs/cluster.md): its id, its Redis
 * Cluster client and scripts (ClusterStore), its clients' subscriptions
 * (LocalSubscriptions) and how events reach them: a pull script per
 * subscription, run on an announcement, after sub/ack/nack, on drain and
 * every pullIntervalMs. It also beats its heartbeat, renews the names its
 * clients hold (Leases) and runs the reaper.
 */
export class ClusterNode implements SessionHooks {
  readonly id: string
  readonly config: ClusterConfig
  readonly broker: BrokerConfig
  readonly store: ClusterStore
  readonly subs = new LocalSubscriptions()
  readonly announcer: Announcer
  readonly leases: Leases
  readonly wildcards: Wildcards
  /** The webhooks this node delivers (webhooks.ts). */
  readonly webhooks: ClusterWebhooks
  /** Durable names held by this node's sessions: name → consumer id. */
  readonly names = new Map<string, string>()
  readonly log: Logger
  readonly clock: Clock
  private ctx: HandlerContext | null = null
  private readonly reaper: Reaper
  /** Topics this node has put in the topics set (bounded: cleared past maxTopics). */
  private readonly registered = new Set<string>()
  /** Sessions that have gone: a command that finishes after its session closed undoes what it made. */
  private readonly gone = new WeakSet<Session>()
  private timers: Timer[] = []
  /** Stopped or crashed: the hooks do nothing any more. */
  private down = false

  private constructor (broker: BrokerConfig, log: Logger, clock: Clock) {
    this.broker = broker
    this.config = broker.cluster!
    this.id = this.config.nodeId ?? randomBytes(6).toString('hex')
    this.log = log.child({ node: this.id })
    this.clock = clock
    this.store = new ClusterStore(this.config, this.log)
    this.announcer = new Announcer(this.store, this.log, (kind, topic) => this.heard(kind, topic))
    this.leases = new Leases(this.store, this.config.nodeTtlMs)
    this.reaper = new Reaper(this)
    this.wildcards = new Wildcards(this)
    this.webhooks = new ClusterWebhooks(this)
  }

  /** Connects to the Redis Cluster and announces this node alive. */
  static async start (broker: BrokerConfig, log: Logger, clock: Clock): Promise<ClusterNode> {
    const node = new ClusterNode(broker, log, clock)
    try {
      await node.store.connect()
      await node.leases.beat(node.id)
    } catch (err) {
      node.store.redis.disconnect()
      throw new Error(`cannot reach the Redis Cluster at ${node.config.redis.join(',')}: ${(err as Error).message}`)
    }
    return node
  }

  /** The manager's context is ready: timers start (heartbeat, periodic pull, reaper). */
  attach (ctx: HandlerContext): void {
    this.ctx = ctx
    const c = this.config
    this.timers.push(this.clock.every(Math.max(10, Math.floor(c.nodeTtlMs / 3)), () => { this.heartbeat() }))
    this.timers.push(this.clock.every(c.pullIntervalMs, () => {
      for (const s of this.subs.all()) this.pull(s)
      this.wildcards.scan()
      this.webhooks.scan()
    }))
    this.timers.push(this.clock.every(c.reapIntervalMs, () => { this.reaper.sweep() }))
  }

  /** The handler context (null before attach). */
  get context (): HandlerContext | null {
    return this.ctx
  }

  private heartbeat (): void {
    if (this.down) return
    Promise.all([this.leases.beat(this.id), this.leases.renew(this.names), this.leases.renew(this.webhooks.leases)])
      .catch((err: unknown) => this.log.warn({ err }, 'heartbeat failed'))
  }

  /**
   * Puts a topic in the topics set (the reaper's and `topics`' list) before
   * it is first written, once per node (a cache: a script that finds it
   * created the topic registers it again, in case another node deleted it
   * since). `limited`: a new topic past maxTopics (counted over the
   * cluster) is TOO_MANY_TOPICS, before anything is created.
   */
  async ensureRegistered (topic: string, limited = false): Promise<void> {
    if (this.registered.has(topic)) return
    const max = this.broker.maxTopics
    if (!await this.store.registerTopic(topic, limited ? max : undefined)) {
      if (this.ctx !== null) this.ctx.stats.limitHits.maxTopics++
      fail('TOO_MANY_TOPICS', { max, topic })
    }
    if (this.registered.size >= max) this.registered.clear()
    this.registered.add(topic)
    await this.wildcards.attachNew(topic) // before its first event, as on one node
  }

  /** The topic left the topics set. */
  async unregister (topic: string): Promise<void> {
    this.registered.delete(topic)
    await this.store.unregisterTopic(topic)
  }

  /** Whether the topic exists (its offset counter does). */
  async topicExists (topic: string): Promise<boolean> {
    return await this.store.bounded('EXISTS', this.store.redis.exists(topicPrefix(topic) + 'seq')) === 1
  }

  /** New events in `topic`: every node with a subscriber on it pulls. */
  announce (topic: string): void {
    this.announcer.announce('p', topic)
  }

  /** A local subscription starts: its family is listened to, and it pulls once its reply is out. */
  async added (sub: LocalSubscription): Promise<void> {
    this.subs.add(sub)
    await this.announcer.listen(sub.topic)
    setImmediate(() => this.pull(sub))
  }

  /** A local subscription ends here (its Redis state is the caller's business). */
  removed (sub: LocalSubscription): void {
    if (sub.ended) return
    if (sub.wildcard?.members.get(sub.topic) === sub) sub.wildcard.members.delete(sub.topic)
    if (this.subs.remove(sub)) this.announcer.unlisten(sub.topic)
  }

  /** Whether the session has closed (checked after an await). */
  isGone (session: Session): boolean {
    return this.gone.has(session)
  }

  private heard (kind: AnnouncementKind, topic: string): void {
    if (kind === 'x') {
      this.registered.delete(topic)
      this.endLocal(topic, 'deleted')
      return
    }
    if (kind === 'w') {
      this.wildcards.topicCreated(topic)
      return
    }
    for (const s of this.subs.ofTopic(topic)) this.pull(s)
    this.webhooks.heard(topic)
  }

  /** The topic is gone: each local subscriber gets `END <topic> <reason>`, as on one node. */
  endLocal (topic: string, reason: string): void {
    this.wildcards.topicDeleted(topic)
    for (const s of this.subs.ofTopic(topic)) {
      this.removed(s)
      s.session.reply(`END ${topic} ${reason}`)
    }
  }

  /**
   * Moves up to the subscription's free in-flight slots from its queue to
   * this consumer (one pull script) and delivers them. One pull at a time
   * per subscription; a request meanwhile runs once more after it.
   */
  pull (sub: LocalSubscription): void {
    if (sub.ended || this.down) return
    if (sub.wildcard !== null) {
      this.wildcards.pull(sub.wildcard)
      return
    }
    if (sub.pulling) {
      sub.again = true
      return
    }
    if (!sub.session.canDeliver()) return // drained() pulls again
    sub.pulling = true
    this.store.run('acklinePull', sub.topic, [sub.key, sub.consumer, sub.cap ?? ''], false).then(async reply => {
      if (reply[0] === 1) {
        await this.vanished(sub)
        return
      }
      const pulled = pulledFrom(reply, 1)
      // An at-most-once subscription takes a batch of AT_MOST_ONCE_BATCH per pull: a full one may have more behind it.
      if (sub.atMostOnce && pulled.length >= AT_MOST_ONCE_BATCH) sub.again = true
      if (pulled.length > 0) this.afterReply(sub.session, () => { for (const p of pulled) sub.session.deliver(sub.topic, storedEventOf(p.text, p.offset), p.deliveries) })
    }).catch((err: unknown) => {
      this.log.warn({ err, topic: sub.topic }, 'pull failed; retried at the next tick')
    }).finally(() => {
      sub.pulling = false
      if (sub.again) {
        sub.again = false
        this.pull(sub)
      }
    })
  }

  /**
   * The subscription is gone from Redis while its client is here: its topic
   * was deleted (`END <topic> deleted` to every local subscriber), its
   * group forgotten (`END <topic> forgotten`), or its user's grant revoked
   * (forgotten quietly), as on one node.
   */
  async vanished (sub: LocalSubscription): Promise<void> {
    if (sub.ended) return
    if (!await this.topicExists(sub.topic)) {
      this.endLocal(sub.topic, 'deleted')
      return
    }
    if (sub.ended) return
    if (await this.revoked(sub)) {
      this.removed(sub)
      return
    }
    if (sub.ended) return
    this.removed(sub)
    sub.session.reply(`END ${sub.topic} ${sub.group !== null ? 'forgotten' : 'ended'}`)
  }

  /** Whether the subscription's user (a private topic's grantee) may no longer subscribe to it. */
  private async revoked (sub: LocalSubscription): Promise<boolean> {
    const user = this.ctx === null ? null : granteeOf(this.ctx, sub.session, sub.topic)
    if (user === null) return false
    return (await grantsOf(this, sub.topic, user)).get(user)?.sub !== true
  }

  /** Sessions whose command is being answered, with the deliveries waiting for that reply. */
  private readonly replying = new Map<Session, Array<() => void>>()

  /** A cluster command of the session started: deliveries wait until its reply is out. */
  replyStarted (session: Session): void {
    if (!this.replying.has(session)) this.replying.set(session, [])
  }

  /** Its reply is out (replyLater wrote it): the deliveries that waited go now, in order. */
  replyDone (session: Session): void {
    const waiting = this.replying.get(session)
    if (waiting === undefined) return
    this.replying.delete(session)
    for (const deliver of waiting) deliver()
  }

  /** Delivers now (or writes an `END`), or after the reply the session is waiting for. */
  afterReply (session: Session, deliver: () => void): void {
    const waiting = this.replying.get(session)
    if (waiting === undefined) deliver()
    else waiting.push(deliver)
  }

  /** Pulls for a subscription after its reply is out. */
  pullSoon (sub: LocalSubscription): void {
    setImmediate(() => this.pull(sub))
  }

  // --- SessionHooks ---

  disconnected (session: Session): void {
    if (this.gone.has(session)) return
    this.gone.add(session)
    if (this.down) return
    for (const sub of this.subs.ofSession(session)) this.release(sub)
    this.wildcards.closeSession(session)
    const name = session.name
    if (name !== null) {
      const consumer = this.names.get(name)
      if (consumer !== undefined) {
        this.names.delete(name)
        this.leases.release(name, consumer).catch((err: unknown) => this.log.warn({ err, name }, 'name release failed; it expires with its lease'))
      }
    }
  }

  drained (session: Session): void {
    for (const sub of this.subs.ofSession(session)) this.pull(sub)
  }

  /**
   * A subscription's client went away: a durable one (name, group member)
   * gives what the consumer held back to the front of its queue, announced so
   * that its next holder gets it; an anonymous one ends.
   */
  release (sub: LocalSubscription): Promise<void> {
    this.removed(sub)
    const work = sub.durable
      ? this.store.run('acklineDetach', sub.topic, [sub.key, sub.consumer], false).then(r => { if (Number(r[0]) > 0) this.announce(sub.topic) })
      : this.store.run('acklineUnsubscribe', sub.topic, [sub.key], false).then(() => {})
    const done = work.catch((err: unknown) => this.log.warn({ err, topic: sub.topic }, 'releasing a subscription failed; the reaper will'))
    this.releasing.add(done)
    return done.finally(() => this.releasing.delete(done))
  }

  private readonly releasing = new Set<Promise<void>>()

  /**
   * Moves an in-flight event of subscription `key` to `<topic>.dlq`, as on one
   * node (the dead letter's text by deadLetterEvent). False when it was no
   * longer in flight.
   */
  async deadLetter (topic: string, key: string, offset: number, deliveries: number, text: string, reason: string): Promise<boolean> {
    const now = this.clock.now()
    // Named as on one node: the client id, or `group:<name>` for a group's subscription.
    const subscriber = key.startsWith('n:') ? key.slice(2) : key.startsWith('g:') ? 'group:' + key.slice(2) : key.startsWith('w:') ? 'webhook:' + key.slice(2) : null
    const parts = deadLetterParts(text, { topic, subscriber, reason, deliveries, at: now }, now)
    const dlq = topic + DLQ_SUFFIX
    await this.ensureRegistered(dlq)
    const r = await this.store.run('acklineDeadLetter', topic, [key, offset, topicPrefix(dlq), parts.pre, parts.body, parts.priority, this.broker.maxInFlight, this.broker.ackTimeoutMs], true)
    if (r[0] !== 1) return false
    if (r[3] === 1) await this.store.registerTopic(dlq)
    this.announce(dlq)
    if (this.ctx !== null) this.ctx.store.counters.deadLettered++
    this.log.warn({ topic, subscriber: key, offset, reason, deliveries }, 'event moved to dead-letter topic')
    return true
  }

  /** Clean stop: local subscriptions released, names freed, heartbeat removed, client closed. */
  async stop (): Promise<void> {
    if (this.down) return
    for (const t of this.timers) t.cancel()
    this.timers = []
    for (const sub of this.subs.all()) this.release(sub).catch(() => {})
    await this.wildcards.stop()
    await this.webhooks.stop()
    for (const [name, consumer] of this.names) await this.leases.release(name, consumer).catch(() => {})
    this.names.clear()
    await Promise.allSettled([...this.releasing])
    this.down = true
    await this.reaper.idle()
    await this.leases.forget(this.id).catch(() => {})
    await this.store.close()
  }

  /**
   * Dies as a killed process would (tests): timers stop and the Redis
   * connections drop at once, nothing is released: this node's in-flight
   * events wait for their deadlines, its names for their leases to expire.
   */
  crash (): void {
    this.down = true
    for (const t of this.timers) t.cancel()
    this.timers = []
    this.webhooks.crashed()
    this.store.redis.disconnect()
  }

  get stopped (): boolean {
    return this.down
  }
}
