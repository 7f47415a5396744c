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
 * A topic's grants live on the topic (`Topic.grants`), so they are stored
 * with it.
 */

import type { GrantRights } from '../store/topic'

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

/** Adds `kind` to what `user` holds in one topic's grants; returns what it holds now. */
export function addGrant (grants: Map<string, GrantRights>, user: string, kind: GrantKind): GrantRights {
  const cur = grants.get(user)
  const next = { pub: (cur?.pub ?? false) || kind !== 'sub', sub: (cur?.sub ?? false) || kind !== 'pub' }
  grants.set(user, next)
  return next
}

/** Takes `kind` back from `user` in one topic's grants; returns what it still holds (undefined: nothing). */
export function removeGrant (grants: Map<string, GrantRights>, user: string, kind: GrantKind): GrantRights | undefined {
  const cur = grants.get(user)
  if (cur === undefined) return undefined
  const next = { pub: cur.pub && kind === 'sub', sub: cur.sub && kind === 'pub' }
  if (!next.pub && !next.sub) {
    grants.delete(user)
    return undefined
  }
  grants.set(user, next)
  return next
}

/** The word for a set of rights, as replies, the journal and topic logs write it: `pub`, `sub`, `both` or `none`. */
export function grantWord (r: GrantRights | undefined): 'pub' | 'sub' | 'both' | 'none' {
  if (r === undefined || (!r.pub && !r.sub)) return 'none'
  return r.pub && r.sub ? 'both' : r.pub ? 'pub' : 'sub'
}

/** The rights a word from the journal or a topic log stands for (undefined: `none`); throws on anything else. */
export function grantFromWord (word: unknown): GrantRights | undefined {
  switch (word) {
    case 'pub': return { pub: true, sub: false }
    case 'sub': return { pub: false, sub: true }
    case 'both': return { pub: true, sub: true }
    case 'none': return undefined
    default: throw new Error(`invalid grant ${JSON.stringify(word)}: expected pub, sub, both or none`)
  }
}
