import { TopicPattern } from './topicPattern'

/** How an exchange picks topics for a routing key (RabbitMQ's three basic types). */
export const EXCHANGE_TYPES = ['fanout', 'direct', 'topic'] as const
export type ExchangeType = typeof EXCHANGE_TYPES[number]

/** One binding: events routed through the exchange go to `topic` when `key` matches (fanout: always). */
export interface Binding {
  readonly topic: string
  /** The binding key; '' for a fanout binding given none. */
  readonly key: string
  /** Topic exchanges: the compiled key. */
  readonly pattern: TopicPattern | null
}

/** What `exchanges` and the state file show of an exchange. */
export interface ExchangeInfo {
  name: string
  type: ExchangeType
  bindings: Array<{ topic: string, key: string }>
}

/** A declared exchange and its bindings, in the order they were made. */
export class Exchange {
  readonly name: string
  readonly type: ExchangeType
  readonly bindings: Binding[] = []

  constructor (name: string, type: ExchangeType) {
    this.name = name
    this.type = type
  }

  /** Index of the binding of `topic` with `key`, or -1. */
  indexOf (topic: string, key: string): number {
    return this.bindings.findIndex(b => b.topic === topic && b.key === key)
  }

  /** Adds a binding; false when it exists already (bindings are a set). */
  bind (topic: string, key: string): boolean {
    if (this.indexOf(topic, key) >= 0) return false
    this.bindings.push({ topic, key, pattern: this.type === 'topic' ? new TopicPattern(key) : null })
    return true
  }

  /** Removes a binding; false when there was none. */
  unbind (topic: string, key: string): boolean {
    const i = this.indexOf(topic, key)
    if (i < 0) return false
    this.bindings.splice(i, 1)
    return true
  }

  /**
   * The topics an event with `routingKey` goes to, each once however many
   * bindings match it, in the order of their first matching binding.
   */
  route (routingKey: string): string[] {
    const out: string[] = []
    for (const b of this.bindings) {
      if (!this.matches(b, routingKey)) continue
      if (!out.includes(b.topic)) out.push(b.topic)
    }
    return out
  }

  private matches (b: Binding, routingKey: string): boolean {
    if (this.type === 'fanout') return true
    if (this.type === 'direct') return b.key === routingKey
    return b.pattern!.matches(routingKey)
  }

  info (): ExchangeInfo {
    return { name: this.name, type: this.type, bindings: this.bindings.map(b => ({ topic: b.topic, key: b.key })) }
  }
}

/**
 * Every exchange of the broker, by name. Pure state: the commands check
 * names and limits, the durability layer journals each change and keeps the
 * table in `exchanges.json` (see docs/storage.md).
 */
export class ExchangeTable {
  readonly byName = new Map<string, Exchange>()

  get (name: string): Exchange | undefined {
    return this.byName.get(name)
  }

  get size (): number {
    return this.byName.size
  }

  /** Declares an exchange; returns the existing one when it has that name already (whatever its type: the caller compares). */
  declare (name: string, type: ExchangeType): Exchange {
    let x = this.byName.get(name)
    if (x === undefined) {
      x = new Exchange(name, type)
      this.byName.set(name, x)
    }
    return x
  }

  /** Every exchange with its bindings, sorted by name. */
  list (): ExchangeInfo[] {
    return [...this.byName.values()].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0).map(x => x.info())
  }

  /** Applies one journal record (`XE`, `XB`, `XU`; see Durability); throws on a record it cannot apply. */
  apply (rec: readonly unknown[]): void {
    const [kind, name, a, b] = rec
    if (typeof name !== 'string') throw new Error('exchange record without a name')
    if (kind === 'XE') {
      if (!(EXCHANGE_TYPES as readonly unknown[]).includes(a)) throw new Error(`unknown exchange type ${JSON.stringify(a)}`)
      this.declare(name, a as ExchangeType)
      return
    }
    const x = this.byName.get(name)
    if (x === undefined || typeof a !== 'string' || typeof b !== 'string') throw new Error(`binding record for an unknown exchange ${JSON.stringify(name)}`)
    if (kind === 'XB') x.bind(a, b)
    else if (kind === 'XU') x.unbind(a, b)
    else throw new Error(`unknown exchange record ${JSON.stringify(kind)}`)
  }

  /** The table as stored in `exchanges.json`. */
  toJSON (): ExchangeInfo[] {
    return this.list()
  }

  /** Loads a stored table (replacing nothing: call on an empty table). Entries that do not parse are skipped and counted. */
  load (infos: unknown): number {
    let bad = 0
    if (!Array.isArray(infos)) return 1
    for (const i of infos as Array<Partial<ExchangeInfo>>) {
      if (typeof i?.name !== 'string' || !(EXCHANGE_TYPES as readonly unknown[]).includes(i.type) || !Array.isArray(i.bindings)) { bad++; continue }
      const x = this.declare(i.name, i.type!)
      for (const b of i.bindings) {
        if (typeof b?.topic === 'string' && typeof b.key === 'string') x.bind(b.topic, b.key)
        else bad++
      }
    }
    return bad
  }
}
