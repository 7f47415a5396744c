import type { Action, BrokerConfig } from '../config/defaults'
import { ConfigError, fail } from '../errors'
import type { Logger } from '../log'
import type { Session } from '../manager/session'
import { splitToken } from '../protocol/parseCommand'
import { isValidTopicName } from '../store/names'
import type { Subscription } from '../store/subscription'
import type { Store } from '../store/store'
import { ALL, Grants, NONE, PatternSet, privateOwner, type GrantKind, type Rights } from './acl'
import { hashPassword, parseScryptHash, verifyPassword, type ScryptHash } from './password'
import { FailureLimiter } from './rateLimit'

/** Commands that work before `auth`, whatever the config. */
const OPEN_ACTIONS: ReadonlySet<Action> = new Set<Action>(['auth', 'help', 'ping', 'quit'])
/** Commands that exist only when auth is in use (users configured or auth required), and need an authenticated connection (but `auth`). */
export const SECURITY_ACTIONS: ReadonlySet<Action> = new Set<Action>(['auth', 'grant', 'revoke'])

const WINDOW_MS = 60_000

interface User {
  hash: ScryptHash
  publish: PatternSet
  subscribe: PatternSet
}

/**
 * Authentication and authorization state of one broker: configured users,
 * which session is which user, grants on private topics, the failed-auth
 * limiter. The manager calls `gate` before every command.
 */
/** Commands that name a topic: a private topic must look missing to everyone it is not shared with. */
const TOPIC_ACTIONS: ReadonlySet<Action> = new Set<Action>(['pub', 'sub', 'ack', 'nack', 'touch', 'unsub', 'stats'])

export class AuthService {
  readonly required: boolean
  /** Auth is in use: users are configured or auth is required. */
  readonly enabled: boolean
  readonly grants = new Grants()
  private readonly users = new Map<string, User>()
  private readonly sessions = new WeakMap<Session, string>()
  private readonly limiter: FailureLimiter
  /** Who made a subscription to a private topic: topic -> subscription key -> user (so revoke can end it). */
  private readonly privateSubs = new Map<string, Map<string, string>>()
  private dummy: ScryptHash | null = null

  constructor (config: BrokerConfig, private readonly log: Logger) {
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

  /** What `user` (null: anonymous) may do with `topic`. */
  rights (user: string | null, topic: string): Rights {
    const owner = privateOwner(topic)
    if (topic.charCodeAt(0) === 0x7e) { // private
      if (user === null || owner === null) return NONE
      if (user === owner) return ALL
      const g = this.grants.get(topic, user)
      return g === undefined ? NONE : { visible: true, pub: g.pub, sub: g.sub }
    }
    if (user === null) return ALL // only reachable when auth is not required
    const u = this.users.get(user)
    if (u === undefined) return NONE
    return { visible: true, pub: u.publish.matches(topic), sub: u.subscribe.matches(topic) }
  }

  /** Runs before every command: throws AUTH_REQUIRED, FORBIDDEN or (for hidden private topics) UNKNOWN_TOPIC. */
  gate (action: Action, args: string, session: Session, usage: string): void {
    if (OPEN_ACTIONS.has(action)) return
    const user = this.userOf(session)
    if (user === null && this.needsUser(action)) {
      fail('AUTH_REQUIRED', `authenticate first: ${usage}`)
    }
    if (!TOPIC_ACTIONS.has(action)) return
    if (user === null && args.charCodeAt(0) !== 0x7e) return // fast path of the open-mode check below (args start with the topic)
    const topic = splitToken(args)[0]
    if (topic === '') return // `stats` alone: broker-wide numbers only
    if (!isValidTopicName(topic)) return // the handler reports the bad name
    if (user === null && topic.charCodeAt(0) !== 0x7e) return // open mode: anonymous clients use public topics freely
    const r = this.rights(user, topic)
    if (!r.visible) {
      // Exactly what a missing topic gets: a private topic must not be discoverable.
      this.deny(session, user, action, topic, 'hidden private topic')
      fail('UNKNOWN_TOPIC', action === 'sub' ? `topic ${topic} does not exist; publish to it first` : `topic ${topic} does not exist`)
    }
    if (action === 'stats' && user !== null && !r.pub && !r.sub) {
      this.deny(session, user, action, topic, 'no permission on topic')
      fail('FORBIDDEN', `user ${user} may neither publish to nor subscribe to ${topic}`)
    }
    if (action === 'pub' && !r.pub) {
      this.deny(session, user, action, topic, 'no publish permission')
      fail('FORBIDDEN', `user ${String(user)} may not publish to ${topic}`)
    }
    if (action === 'sub') {
      if (!r.sub) {
        this.deny(session, user, action, topic, 'no subscribe permission')
        fail('FORBIDDEN', `user ${String(user)} may not subscribe to ${topic}`)
      }
      if (user !== null && topic.charCodeAt(0) === 0x7e) this.notePrivateSub(topic, session.name ?? `#${session.id}`, user)
    }
  }

  /**
   * Whether `session` can use `action` now, topic permissions aside: what
   * `help` lists. `auth`, `grant` and `revoke` only when auth is in use; `auth`
   * only until it succeeds; with `auth.required`, only the open commands before it.
   */
  available (action: Action, session: Session): boolean {
    if (!this.enabled && SECURITY_ACTIONS.has(action)) return false
    const user = this.userOf(session)
    if (action === 'auth') return user === null
    return OPEN_ACTIONS.has(action) || user !== null || !this.needsUser(action)
  }

  /** An anonymous connection gets AUTH_REQUIRED for `action` (`gate` and `available` agree through this). */
  private needsUser (action: Action): boolean {
    return this.required || SECURITY_ACTIONS.has(action)
  }

  /** `auth <user> <password>`: throws RATE_LIMITED / AUTH_FAILED; returns the user on success. */
  login (session: Session, user: string, password: string, now: number): string {
    const ip = session.remoteAddress ?? 'unknown'
    const current = this.userOf(session)
    if (current !== null) fail('ALREADY_AUTHENTICATED', `this connection is already authenticated as ${current}`)
    if (this.limiter.isLimited(ip, now)) {
      this.log.warn({ ip, session: session.id, user }, 'auth refused: rate limited')
      fail('RATE_LIMITED', 'too many failed auth attempts from your address; try again later')
    }
    const u = this.users.get(user)
    // An unknown user costs the same scrypt work as a wrong password: no user enumeration by timing.
    const ok = verifyPassword(password, u?.hash ?? this.dummyHash()) && u !== undefined
    if (!ok) {
      this.limiter.recordFailure(ip, now)
      this.log.warn({ ip, session: session.id, user }, 'auth failed')
      fail('AUTH_FAILED', 'wrong user or password')
    }
    this.sessions.set(session, user)
    this.log.info({ ip, session: session.id, user }, 'authenticated')
    return user
  }

  /** Checks that `user` owns private `topic` (grant/revoke); the same error whether it exists or not. */
  checkOwner (session: Session, user: string, topic: string, action: Action): void {
    if (privateOwner(topic) !== user) {
      this.deny(session, user, action, topic, 'not the owner')
      fail('FORBIDDEN', `you can grant and revoke only on your own private topics (~${user}.<name>)`)
    }
  }

  /**
   * After a revoke: ends `user`'s subscriptions to `topic` when it may no
   * longer subscribe (attached or waiting for a named client). Returns how many.
   */
  dropSubscriptions (store: Store, topic: string, user: string, ended: (s: Subscription) => void): number {
    const keys = this.privateSubs.get(topic)
    const t = store.topic(topic)
    if (keys === undefined) return 0
    let n = 0
    for (const [key, who] of keys) {
      if (who !== user) continue
      keys.delete(key)
      const s = t?.subscriptions.get(key)
      if (s === undefined) continue
      const sink = s.sink as Partial<Session> | null
      if (sink?.subscriptions?.get(topic) === s) sink.subscriptions.delete(topic)
      t!.subscriptions.delete(key)
      s.destroy()
      ended(s)
      n++
    }
    if (keys.size === 0) this.privateSubs.delete(topic)
    return n
  }

  deny (session: Session, user: string | null, action: Action, topic: string, reason: string): void {
    this.log.warn({ ip: session.remoteAddress, session: session.id, user, action, topic, reason }, 'access denied')
  }

  private notePrivateSub (topic: string, key: string, user: string): void {
    let keys = this.privateSubs.get(topic)
    if (keys === undefined) {
      keys = new Map()
      this.privateSubs.set(topic, keys)
    }
    keys.set(key, user)
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

export function parseGrantKind (text: string): GrantKind | null {
  if (text === '' || text === 'both') return 'both'
  if (text === 'pub' || text === 'sub') return text
  return null
}
