import { isPrivate, privateOwner } from '../auth/acl'
import { fail } from '../errors'
import type { HandlerContext } from '../manager/context'
import type { Session } from '../manager/session'
import { TopicPattern } from '../routing/topicPattern'
import { storedEventOf } from './eventText'
import { grantsOf } from './grants'
import { plural } from './handlers/handler'
import { consumerId, consumerNode, PATTERNS_CHANNEL, PATTERNS_KEY, subKey, SUB_KEYS, topicPrefix } from './keys'
import { LocalSubscription } from './localSubscriptions'
import type { ClusterNode } from './node'
import { pulledFrom } from './redisStore'

/** A wildcard subscription as the registry keeps it (PATTERNS_KEY). */
interface Registered {
  max: number
  timeout: number
  user: string | null
}

/**
 * One wildcard subscription of a client of this node (`sub orders.*`): its
 * members are ordinary anonymous subscriptions of the session, one per
 * matching topic (LocalSubscription with `wildcard` set), sharing one
 * in-flight cap that this node enforces (it alone delivers to the session).
 */
export class LocalWildcard {
  /** The members by topic. */
  readonly members = new Map<string, LocalSubscription>()
  /** Topics already decided (joined, left out, or left by `unsub <topic>`): not joined again until deleted. */
  readonly known = new Set<string>()
  readonly matcher: TopicPattern
  closed = false
  pulling = false
  again = false
  turn = 0

  constructor (
    readonly session: Session,
    readonly pattern: string,
    readonly max: number,
    readonly timeout: number,
    readonly user: string | null,
    /** Its field in the registry: `<consumer id> <pattern>`. */
    readonly field: string,
  ) {
    this.matcher = new TopicPattern(pattern)
  }
}

/**
 * Wildcard subscriptions in cluster mode (docs/cluster.md#wildcard-subscriptions),
 * with the single-node semantics (src/routing/wildcard.ts): every matching
 * topic the user may read, those that exist and those made later, one
 * in-flight cap across them, connection-scoped. Every wildcard subscription
 * of the cluster is in a registry in Redis, so the node that makes a topic
 * (its first `pub`, `create`, `grant`, a dead letter) adds the matching
 * members before the topic's first event, and tells the subscribers' nodes
 * on a sharded channel; those adopt the members and pull. A node that missed
 * that finds the topic at its next periodic pull (and joins it from its
 * first event).
 */
export class Wildcards {
  private readonly bySession = new Map<Session, Map<string, LocalWildcard>>()
  private listening: Promise<unknown> | null = null
  private scanning = false
  /** Compiled patterns of the registry, by text (bounded by the patterns in use). */
  private readonly compiled = new Map<string, TopicPattern>()

  constructor (private readonly node: ClusterNode) {}

  /** The session's wildcard subscription to `pattern`. */
  get (session: Session, pattern: string): LocalWildcard | undefined {
    return this.bySession.get(session)?.get(pattern)
  }

  /**
   * `sub <pattern> [max-in-flight [ack-timeout-ms]] [from=…]`: registers it,
   * joins the matching topics there are (from `from`), replies with how many.
   */
  async subscribe (ctx: HandlerContext, session: Session, pattern: string, asked: number | undefined, askedTimeout: number | undefined,
    from: string, to: number | undefined): Promise<string> {
    if (this.get(session, pattern) !== undefined) fail('ALREADY_SUBSCRIBED', { topic: pattern })
    if (to !== undefined) fail('BAD_OPTION.value', { option: 'to', expected: 'absent on a wildcard subscription', got: String(to) })
    const limit = ctx.config.maxSubscriptionsPerConnection
    if (this.node.subs.countOf(session) >= limit) fail('TOO_MANY_SUBSCRIPTIONS', { max: limit })
    const user = ctx.auth.userOf(session)
    const consumer = consumerId(this.node.id, session.id)
    const w = new LocalWildcard(session, pattern, asked ?? ctx.config.maxInFlight, askedTimeout ?? ctx.config.ackTimeoutMs, user, `${consumer} ${pattern}`)
    let mine = this.bySession.get(session)
    if (mine === undefined) this.bySession.set(session, mine = new Map())
    mine.set(pattern, w)
    try {
      await this.listen()
      const entry: Registered = { max: w.max, timeout: w.timeout, user }
      await this.node.store.bounded('HSET', this.node.store.redis.hset(PATTERNS_KEY, w.field, JSON.stringify(entry)))
      for (const topic of (await this.node.store.topicNames()).sort()) {
        if (w.matcher.matches(topic)) await this.join(ctx, w, topic, from)
      }
    } catch (err) {
      // Not subscribed after all (the reply is the error): undone as far as Redis lets.
      await this.close(w).catch(() => {})
      throw err
    }
    if (this.node.isGone(session)) {
      await this.close(w)
      return 'OK'
    }
    const n = w.members.size
    return `OK subscribed to ${pattern} (max in flight ${w.max}, ${n} topic${plural(n)} now)`
  }

  /** `unsub <pattern>`: ends it and every member; their unacked events are dropped. */
  async unsubscribe (session: Session, pattern: string): Promise<string> {
    const w = this.get(session, pattern) ?? fail('NOT_SUBSCRIBED', { topic: pattern })
    const n = [...w.members.values()].filter(m => !m.ended).length
    const dropped = await this.close(w)
    return `OK unsubscribed from ${pattern} (${n} topic${plural(n)}${dropped > 0 ? `, ${dropped} unacked event${plural(dropped)} dropped` : ''})`
  }

  /** Ends a wildcard subscription: out of the registry, every member unsubscribed. Returns the events they dropped. */
  private async close (w: LocalWildcard): Promise<number> {
    w.closed = true
    this.bySession.get(w.session)?.delete(w.pattern)
    await this.node.store.bounded('HDEL', this.node.store.redis.hdel(PATTERNS_KEY, w.field))
    let dropped = 0
    for (const m of [...w.members.values()]) {
      this.node.removed(m)
      const r = await this.node.store.run('acklineUnsubscribe', m.topic, [m.key], true)
      dropped += Math.max(0, Number(r[0]))
    }
    return dropped
  }

  /** The session closed: its wildcard subscriptions leave the registry (its members are released with its other subscriptions). */
  closeSession (session: Session): void {
    const mine = this.bySession.get(session)
    if (mine === undefined) return
    this.bySession.delete(session)
    for (const w of mine.values()) {
      w.closed = true
      this.node.store.redis.hdel(PATTERNS_KEY, w.field).catch((err: unknown) => this.node.log.warn({ err }, 'removing a wildcard subscription failed; the reaper will'))
    }
  }

  /** Clean stop: this node's wildcard subscriptions leave the registry. */
  async stop (): Promise<void> {
    const fields = [...this.bySession.values()].flatMap(m => [...m.values()].map(w => w.field))
    this.bySession.clear()
    if (fields.length > 0) await this.node.store.bounded('HDEL', this.node.store.redis.hdel(PATTERNS_KEY, ...fields)).catch(() => {})
  }

  /**
   * Joins one matching topic (unless the session subscribes to it directly,
   * or may not read it): its member is made in Redis (or found, made by the
   * topic's creator) and adopted here.
   */
  private async join (ctx: HandlerContext, w: LocalWildcard, topic: string, start: string): Promise<void> {
    w.known.add(topic)
    if (this.node.subs.get(w.session, topic) !== undefined) return
    if (!await this.mayRead(ctx, w.user, topic)) return
    const key = subKey.anonymous(this.node.id, w.session.id)
    const consumer = consumerId(this.node.id, w.session.id)
    await this.node.store.run('acklineMember', topic, [key, consumer, w.max, w.timeout, start, 0, this.recordedUser(w.user, topic)], true)
    if (w.closed || this.node.subs.get(w.session, topic) !== undefined) {
      if (w.closed) await this.node.store.run('acklineUnsubscribe', topic, [key], false)
      return
    }
    const local = new LocalSubscription(w.session, topic, key, consumer, false)
    local.wildcard = w
    w.members.set(topic, local)
    await this.node.added(local)
  }

  /** Whether `user` (null: anonymous) may subscribe to `topic`: the single-node rule, a grant read from Redis. */
  private async mayRead (ctx: HandlerContext, user: string | null, topic: string): Promise<boolean> {
    if (user === null) return !isPrivate(topic)
    const owner = privateOwner(topic)
    const grants = isPrivate(topic) && owner !== null && owner !== user ? await grantsOf(this.node, topic, user) : undefined
    return ctx.auth.rights(user, topic, grants).sub
  }

  /** A member of a private topic remembers its grantee, whom `revoke` ends it for. */
  private recordedUser (user: string | null, topic: string): string {
    return user !== null && isPrivate(topic) && privateOwner(topic) !== user ? user : ''
  }

  /**
   * This node is about to make `topic` (ensureRegistered, before its first
   * event): every registered wildcard subscription that covers it and may
   * read it gets its member, and their nodes are told.
   */
  async attachNew (topic: string): Promise<void> {
    const ctx = this.node.context
    if (ctx === null) return
    const all = await this.node.store.bounded('HGETALL', this.node.store.redis.hgetall(PATTERNS_KEY))
    let made = 0
    for (const [field, json] of Object.entries(all)) {
      const space = field.indexOf(' ')
      const pattern = field.slice(space + 1)
      let matcher = this.compiled.get(pattern)
      if (matcher === undefined) {
        if (this.compiled.size >= 10_000) this.compiled.clear()
        this.compiled.set(pattern, matcher = new TopicPattern(pattern))
      }
      if (!matcher.matches(topic)) continue
      const entry = JSON.parse(json) as Registered
      if (!await this.mayRead(ctx, entry.user, topic)) continue
      const consumer = field.slice(0, space)
      const key = subKey.anonymous(consumerNode(consumer), Number(consumer.slice(consumer.lastIndexOf('/') + 1)))
      const r = await this.node.store.run('acklineMember', topic, [key, consumer, entry.max, entry.timeout, 'next', 1, this.recordedUser(entry.user, topic)], false)
      made += Number(r[0])
    }
    if (made > 0) this.node.store.redis.spublish(PATTERNS_CHANNEL, `w ${topic}`).catch((err: unknown) => this.node.log.warn({ err, topic }, 'announcement failed'))
  }

  /** A topic was made (announced, or found by scan): the local wildcard subscriptions covering it join it, from its first event. */
  topicCreated (topic: string): void {
    const ctx = this.node.context
    if (ctx === null) return
    for (const mine of this.bySession.values()) {
      for (const w of mine.values()) {
        if (w.closed || w.known.has(topic) || !w.matcher.matches(topic)) continue
        this.join(ctx, w, topic, 'beginning').catch((err: unknown) => {
          w.known.delete(topic) // tried again at the next scan
          this.node.log.warn({ err, topic }, 'joining a topic to a wildcard subscription failed')
        })
      }
    }
  }

  /** A topic was deleted: made again later, it is joined again. */
  topicDeleted (topic: string): void {
    for (const mine of this.bySession.values()) for (const w of mine.values()) w.known.delete(topic)
  }

  /** Periodic: topics made that this node was not told of are joined (announcements are hints). */
  scan (): void {
    if (this.bySession.size === 0 || this.scanning) return
    this.scanning = true
    this.node.store.topicNames().then(names => { for (const t of names) this.topicCreated(t) })
      .catch((err: unknown) => this.node.log.warn({ err }, 'wildcard scan failed'))
      .finally(() => { this.scanning = false })
  }

  /** The reaper's: registry entries of nodes whose heartbeat expired. */
  async reapDead (alive: (node: string) => Promise<boolean>): Promise<void> {
    const fields = await this.node.store.bounded('HKEYS', this.node.store.redis.hkeys(PATTERNS_KEY))
    for (const field of fields) {
      const owner = consumerNode(field.slice(0, field.indexOf(' ')))
      if (owner !== this.node.id && !await alive(owner)) await this.node.store.bounded('HDEL', this.node.store.redis.hdel(PATTERNS_KEY, field))
    }
  }

  private async listen (): Promise<void> {
    this.listening ??= this.node.store.bounded('SSUBSCRIBE', this.node.store.redis.ssubscribe(PATTERNS_CHANNEL))
      .catch((err: unknown) => {
        this.listening = null
        throw err
      })
    await this.listening
  }

  /**
   * Pulls for a wildcard subscription's members, one pull at a time: the
   * free slots of its cap (its max minus what its members hold, read from
   * Redis) go to the members in turn, a different one first each time.
   */
  pull (w: LocalWildcard): void {
    if (w.closed) return
    if (w.pulling) {
      w.again = true
      return
    }
    if (!w.session.canDeliver()) return
    w.pulling = true
    this.pullOnce(w).catch((err: unknown) => this.node.log.warn({ err, pattern: w.pattern }, 'pull failed; retried at the next tick'))
      .finally(() => {
        w.pulling = false
        if (w.again) {
          w.again = false
          this.pull(w)
        }
      })
  }

  private async pullOnce (w: LocalWildcard): Promise<void> {
    const members = [...w.members.values()].filter(m => !m.ended)
    const n = members.length
    if (n === 0) return
    const redis = this.node.store.redis
    const held = await Promise.all(members.map(async m =>
      Number(await this.node.store.bounded('HGET', redis.hget(`${topicPrefix(m.topic)}s:${m.key}:${SUB_KEYS.perConsumer}`, m.consumer)) ?? 0)))
    let free = w.max - held.reduce((a, b) => a + b, 0)
    for (let i = 0; i < n && free > 0; i++) {
      const m = members[(w.turn + i) % n]
      if (m.ended) continue
      const reply = await this.node.store.run('acklinePull', m.topic, [m.key, m.consumer, '', free], false)
      if (reply[0] === 1) {
        await this.node.vanished(m)
        continue
      }
      const pulled = pulledFrom(reply, 1)
      free -= pulled.length
      if (pulled.length > 0) this.node.afterReply(w.session, () => { for (const p of pulled) w.session.deliver(m.topic, storedEventOf(p.text, p.offset), p.deliveries) })
    }
    w.turn = (w.turn + 1) % n
  }
}
