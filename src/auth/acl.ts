/**
 * Authorization rules, pure and I/O-free.
 *
 * Patterns (per user, `publish` and `subscribe` lists):
 *   `*`         every public topic
 *   `orders.*`  every topic whose name starts with `orders.` (any depth)
 *   `orders`    exactly the topic `orders`
 * Patterns never match private topics.
 *
 * Private topics are named `~<owner>.<rest>`: the owner may publish and
 * subscribe; other users only through a grant (`grant <topic> <user> ...`).
 */

export interface Rights {
  /** The topic may be shown to this user at all (false: it behaves as if it did not exist). */
  visible: boolean
  pub: boolean
  sub: boolean
}

export const ALL: Rights = Object.freeze({ visible: true, pub: true, sub: true })
export const NONE: Rights = Object.freeze({ visible: false, pub: false, sub: false })

/** The owner of a private topic `~<owner>.<rest>`, or null for a public topic. */
export function privateOwner (topic: string): string | null {
  if (topic.charCodeAt(0) !== 0x7e) return null // '~'
  const dot = topic.indexOf('.')
  return dot > 1 ? topic.slice(1, dot) : null
}

export function isPrivate (topic: string): boolean {
  return topic.charCodeAt(0) === 0x7e
}

/** Compiled patterns of one list: fast exact lookups plus a short list of prefixes. */
export class PatternSet {
  private readonly all: boolean
  private readonly exact = new Set<string>()
  private readonly prefixes: string[] = []

  constructor (patterns: readonly string[]) {
    let all = false
    for (const p of patterns) {
      if (p === '*') all = true
      else if (p.endsWith('.*')) this.prefixes.push(p.slice(0, -1)) // keep the dot: `orders.*` -> `orders.`
      else this.exact.add(p)
    }
    this.all = all
  }

  matches (topic: string): boolean {
    if (isPrivate(topic)) return false
    if (this.all || this.exact.has(topic)) return true
    for (const prefix of this.prefixes) {
      if (topic.length > prefix.length && topic.startsWith(prefix)) return true
    }
    return false
  }
}

export type GrantKind = 'pub' | 'sub' | 'both'

/** Grants on private topics, in memory: topic -> grantee -> rights. */
export class Grants {
  private readonly byTopic = new Map<string, Map<string, { pub: boolean, sub: boolean }>>()

  get (topic: string, user: string): { pub: boolean, sub: boolean } | undefined {
    return this.byTopic.get(topic)?.get(user)
  }

  grant (topic: string, user: string, kind: GrantKind): void {
    let users = this.byTopic.get(topic)
    if (users === undefined) {
      users = new Map()
      this.byTopic.set(topic, users)
    }
    const cur = users.get(user) ?? { pub: false, sub: false }
    users.set(user, { pub: cur.pub || kind !== 'sub', sub: cur.sub || kind !== 'pub' })
  }

  /** Removes rights; returns what the user still holds (undefined when nothing). */
  revoke (topic: string, user: string, kind: GrantKind): { pub: boolean, sub: boolean } | undefined {
    const users = this.byTopic.get(topic)
    const cur = users?.get(user)
    if (users === undefined || cur === undefined) return undefined
    const next = { pub: cur.pub && kind === 'sub', sub: cur.sub && kind === 'pub' }
    if (!next.pub && !next.sub) {
      users.delete(user)
      if (users.size === 0) this.byTopic.delete(topic)
      return undefined
    }
    users.set(user, next)
    return next
  }
}
