import type { Access, Command } from '../commands/spec'
import type { BrokerConfig } from '../config/defaults'
import { ConfigError, fail } from '../errors'
import type { Logger } from '../log'
import type { Session } from '../manager/session'
import type { Store } from '../store/store'
import type { GrantRights, Topic } from '../store/topic'
import { ALL, NONE, PatternSet, privateOwner, type Rights } from './acl'
import { isPatternName } from '../routing/topicPattern'
import { GroupSink } from '../routing/group'
import { hashPassword, parseScryptHash, verifyPassword, type ScryptHash } from './password'
import { FailureLimiter } from './rateLimit'

const WINDOW_MS = 60_000

interface User {
  hash: ScryptHash
  publish: PatternSet
  subscribe: PatternSet
}

/**
 * Authentication and authorization state of one broker: configured users,
 * which session is which user, the failed-auth limiter. Grants on private
 * topics, and who made each subscription to one, are state of the topics
 * (`Topic.grants`, `Subscription.user`), so they are as durable as the rest
 * of the store. The command layer calls `admit` before parsing a command's
 * arguments and `authorize` after; both read only the command's access class
 * (src/commands/spec.ts) and its typed `topic` field.
 */
export class AuthService {
  readonly required: boolean
  /** Auth is in use: users are configured or auth is required. */
  readonly enabled: boolean
  /** Failed logins (AUTH_FAILED: `auth` lines, HTTP Basic credentials) since start: GET /metrics. */
  failures = 0
  private readonly users = new Map<string, User>()
  private readonly sessions = new WeakMap<Session, string>()
  private readonly limiter: FailureLimiter
  private dummy: ScryptHash | null = null

  constructor (config: BrokerConfig, private readonly store: Store, private readonly log: Logger) {
    this.required = config.auth.required
    for (const [name, u] of Object.entries(config.auth.users)) {
      const hash = parseScryptHash(u.passwordHash)
      if (typeof hash === 'string') throw new ConfigError(`invalid config: field "/auth/users/${name}/passwordHash" ${hash}`)
      this.users.set(name, { hash, publish: new PatternSet(u.publish ?? []), subscribe: new PatternSet(u.subscribe ?? []) })
    }
    this.enabled = this.required || this.users.size > 0
    this.limiter = new FailureLimiter(config.authFailuresPerMinutePerIp, WINDOW_MS)
  }

  userOf (session: Session): string | null {
    return this.sessions.get(session) ?? null
  }

  /**
   * What `user` (null: anonymous) may do with `topic`. `grants`: the private
   * topic's grants when they are not in this node's store (cluster mode reads
   * them from Redis); by default the store's.
   */
  rights (user: string | null, topic: string, grants?: ReadonlyMap<string, GrantRights>): Rights {
    const owner = privateOwner(topic)
    if (topic.charCodeAt(0) === 0x7e) { // private
      if (user === null || owner === null) return NONE
      if (user === owner) return ALL
      const g = (grants ?? this.store.topic(topic)?.grants)?.get(user)
      return g === undefined ? NONE : { visible: true, pub: g.pub, sub: g.sub }
    }
    if (user === null) return ALL // only reachable when auth is not required
    const u = this.users.get(user)
    if (u === undefined) return NONE
    return { visible: true, pub: u.publish.matches(topic), sub: u.subscribe.matches(topic) }
  }

  /** Runs before a command's arguments are read: AUTH_REQUIRED for an anonymous connection that needs a user for it. */
  admit (command: Command, session: Session, authUsage: string): void {
    const access = command.access
    if (access === 'open' || access === 'login') return
    if (this.needsUser(access) && this.userOf(session) === null) fail('AUTH_REQUIRED', { usage: authUsage })
  }

  /**
   * Runs after the arguments are parsed, for the access classes that read the
   * `topic` field (absent: `stats` alone, broker-wide numbers only). Throws
   * FORBIDDEN, or for a private topic the user may not see exactly what a
   * missing topic gets (UNKNOWN_TOPIC), so it cannot be discovered.
   * `grants`: as for `rights`.
   */
  authorize (command: Command, topic: string | undefined, session: Session, grants?: ReadonlyMap<string, GrantRights>): void {
    if (topic === undefined) return
    const access = command.access
    const user = this.userOf(session)
    // Open mode: anonymous clients use public topics freely. Asked first: it is every pub and ack without auth.
    if (user === null && access !== 'owner' && topic.charCodeAt(0) !== 0x7e) return
    if (isPatternName(topic)) return // a wildcard subscription checks each topic it matches
    if (access === 'owner') return this.checkOwner(session, user!, topic, command.name) // admitted: user is set
    const r = this.rights(user, topic, grants)
    if (!r.visible) {
      this.deny(session, user, command.name, topic, 'hidden private topic')
      fail(access === 'topic-subscribe' ? 'UNKNOWN_TOPIC.sub' : 'UNKNOWN_TOPIC', { topic })
    }
    if (access === 'topic-read' && user !== null && !r.pub && !r.sub) {
      this.deny(session, user, command.name, topic, 'no permission on topic')
      fail('FORBIDDEN', { user, right: 'publish to or subscribe to', topic })
    }
    if (access === 'topic-publish' && !r.pub) {
      this.deny(session, user, command.name, topic, 'no publish permission')
      fail('FORBIDDEN', { user: String(user), right: 'publish to', topic })
    }
    if (access === 'topic-subscribe' && !r.sub) {
      this.deny(session, user, command.name, topic, 'no subscribe permission')
      fail('FORBIDDEN', { user: String(user), right: 'subscribe to', topic })
    }
  }

  /**
   * Whether `session` can use `command` now, topic permissions aside: what
   * `help` lists. `login` (auth) and `owner` (grant, revoke) commands only when
   * auth is in use, `login` only until it succeeds; with `auth.required`, only
   * the open ones before it.
   */
  available (command: Command, session: Session): boolean {
    const access = command.access
    if (access === 'open') return true
    const user = this.userOf(session)
    if (access === 'login') return this.enabled && user === null
    if (access === 'owner') return this.enabled && user !== null
    return user !== null || !this.needsUser(access)
  }

  /** An anonymous connection gets AUTH_REQUIRED for this access class (`admit` and `available` agree through this). */
  private needsUser (access: Access): boolean {
    return this.required || access === 'owner'
  }

  /** `auth <user> <password>`: throws RATE_LIMITED / AUTH_FAILED; returns the user on success. */
  login (session: Session, user: string, password: string, now: number): string {
    const ip = session.remoteAddress ?? 'unknown'
    const current = this.userOf(session)
    if (current !== null) fail('ALREADY_AUTHENTICATED', { user: current })
    if (this.limiter.isLimited(ip, now)) {
      this.log.warn({ ip, session: session.id, user }, 'auth refused: rate limited')
      fail('RATE_LIMITED')
    }
    const u = this.users.get(user)
    // An unknown user costs the same scrypt work as a wrong password: no user enumeration by timing.
    const ok = verifyPassword(password, u?.hash ?? this.dummyHash()) && u !== undefined
    if (!ok) {
      this.limiter.recordFailure(ip, now)
      this.failures++
      this.log.warn({ ip, session: session.id, user }, 'auth failed')
      fail('AUTH_FAILED')
    }
    this.sessions.set(session, user)
    this.log.info({ ip, session: session.id, user }, 'authenticated')
    return user
  }

  /** Binds a session to a user whose credentials a transport verified recently with `login` (HTTP Basic's cache). */
  assume (session: Session, user: string): void {
    if (this.users.has(user)) this.sessions.set(session, user)
  }

  /** Checks that `user` owns private `topic` (grant/revoke); the same error whether it exists or not. */
  checkOwner (session: Session, user: string, topic: string, command: string): void {
    if (privateOwner(topic) !== user) {
      this.deny(session, user, command, topic, 'not the owner')
      fail('FORBIDDEN.notOwner', { user })
    }
  }

  /**
   * After a revoke: ends `user`'s subscriptions to `topic` when it may no
   * longer subscribe (attached, or named and waiting for their client, also
   * ones restored after a restart), and its connections' memberships in the
   * topic's consumer groups (the groups live on; what a member held goes
   * back to its group's queue). Returns how many.
   */
  dropSubscriptions (topic: Topic, user: string, ended: (ticket: number) => void): number {
    let n = 0
    for (const s of [...topic.subscriptions.values()]) {
      const group = GroupSink.of(s)
      if (group !== null) { // the group lives on; only the user's members leave it
        n += group.revoke(user)
        continue
      }
      if (s.user !== user) continue
      ended(topic.unsubscribe(s, 'revoked'))
      n++
    }
    return n
  }

  deny (session: Session, user: string | null, command: string, topic: string, reason: string): void {
    this.log.warn({ ip: session.remoteAddress, session: session.id, user, action: command, topic, reason }, 'access denied')
  }

  private dummyHash (): ScryptHash {
    if (this.dummy === null) {
      // Same cost as a typical configured hash (the first user's, else the defaults).
      const first = this.users.values().next().value
      const text = hashPassword('not a password', first === undefined ? {} : { N: first.hash.N, r: first.hash.r, p: first.hash.p })
      this.dummy = parseScryptHash(text) as ScryptHash
    }
    return this.dummy
  }
}
