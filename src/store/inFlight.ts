import { digitsValue } from '../protocol/tokens'
import type { StoredEvent } from './event'
import type { Delivery } from './subscription'

/** Ids of up to 15 digits are below 2^53: their numbers are exact. */
const MAX_NUMBER_KEY = 999_999_999_999_999
/** An empty slot of the number table (number keys are never negative). */
const EMPTY = -1
/** The number table's size when it is empty: 2^MIN_BITS slots. */
const MIN_BITS = 3

/**
 * What an event id is looked up by: the number for the decimal text of a
 * non-negative integer (no sign, no leading zero, at most 15 digits: every
 * id the broker assigns), the text itself otherwise. Two ids with the same
 * text (`String(id)`, the event's `key`, what `ack` matches) get the same
 * lookup key, and two different texts never do.
 */
export function lookupKey (text: string): string | number {
  if (text.length > 1 && text.charCodeAt(0) === 0x30) return text // `007` is not the id 7
  const v = digitsValue(text, 15)
  return Number.isNaN(v) ? text : v
}

/** An event's lookup key, lookupKey(ev.key), from its numeric id when it has one: without reading the key's text. */
export function eventLookupKey (ev: StoredEvent): string | number {
  const id = ev.id
  return typeof id === 'number' && id >= 0 && id <= MAX_NUMBER_KEY && Number.isInteger(id) ? id : lookupKey(ev.key)
}

/**
 * A subscription's deliveries in flight, by the id `ack` names. Read like a
 * Map from the event's `key` to its delivery (`get`, `has`, `delete`,
 * `keys`, iteration all take and give key texts); iteration order is not
 * delivery order (Subscription.takeExpired sorts by `Delivery.seq` where it matters).
 *
 * Inside: number keys (see lookupKey: every broker-assigned id) in an
 * open-addressing table of typed arrays (linear probing, deletion by
 * backward shift: no tombstones, nothing allocated while the table's size
 * holds), other keys in a Map.
 *
 * Why: in W2 every event goes into flight and out again. With a Map keyed by
 * the key text, putting a delivery in flight hashed the event's key string,
 * published hundreds of events before and out of the CPU's caches by then
 * (the refill's one memory stall, 2.7% of a W2 profile), and the Map's
 * insert/delete churn rebuilt its table every ~150 inserts (~45 bytes of
 * garbage per event) at ~80 ns per insert and delete; the table takes
 * ~15 ns and reads the event's numeric id, which sits in the event object
 * the delivery reads anyway.
 */
export class InFlight {
  /** Number keys by slot, EMPTY where none. */
  private keysAt = new Float64Array(1 << MIN_BITS).fill(EMPTY)
  private valuesAt: Array<Delivery | undefined> = new Array<Delivery | undefined>(1 << MIN_BITS).fill(undefined)
  /** log2 of the table's size. */
  private bits = MIN_BITS
  /** Entries in the table. */
  private numbers = 0
  /** Deliveries whose id is not a number key. */
  private readonly texts = new Map<string, Delivery>()

  get size (): number {
    return this.numbers + this.texts.size
  }

  /** The delivery in flight for the event id `key` (its text, as `ack` sends it). */
  get (key: string): Delivery | undefined {
    return this.find(lookupKey(key))
  }

  has (key: string): boolean {
    return this.find(lookupKey(key)) !== undefined
  }

  delete (key: string): boolean {
    return this.remove(lookupKey(key))
  }

  /** Takes the delivery for the event id `key` out of flight and returns it (an ack: one lookup for both). */
  take (key: string): Delivery | undefined {
    const k = lookupKey(key)
    if (typeof k === 'string') {
      const d = this.texts.get(k)
      if (d !== undefined) this.texts.delete(k)
      return d
    }
    const i = this.slotFor(k)
    if (i < 0) return undefined
    const d = this.valuesAt[i]
    this.removeAt(i)
    return d
  }

  /** Whether an event with the same id as `ev` is in flight. */
  hasEventId (ev: StoredEvent): boolean {
    return this.find(eventLookupKey(ev)) !== undefined
  }

  /** Puts a delivery in flight (none with its event's id may be: see hasEventId). */
  add (d: Delivery): void {
    const k = eventLookupKey(d.ev)
    if (typeof k === 'string') {
      this.texts.set(k, d)
      return
    }
    if ((this.numbers + 1) * 2 > this.keysAt.length) this.resize(this.bits + 1)
    const keys = this.keysAt
    const mask = keys.length - 1
    let i = slotOf(k, this.bits)
    while (keys[i] !== EMPTY && keys[i] !== k) i = (i + 1) & mask
    if (keys[i] === EMPTY) this.numbers++
    keys[i] = k
    this.valuesAt[i] = d
  }

  /** Takes the delivery of `ev`'s id out of flight. */
  deleteEvent (ev: StoredEvent): void {
    this.remove(eventLookupKey(ev))
  }

  clear (): void {
    this.texts.clear()
    if (this.numbers === 0 && this.bits === MIN_BITS) return
    this.keysAt = new Float64Array(1 << MIN_BITS).fill(EMPTY)
    this.valuesAt = new Array<Delivery | undefined>(1 << MIN_BITS).fill(undefined)
    this.bits = MIN_BITS
    this.numbers = 0
  }

  /** The deliveries in flight (not in delivery order). */
  * values (): IterableIterator<Delivery> {
    // A copy: callers delete while they iterate (commit), and a deletion moves entries within the table.
    const values = this.valuesAt.filter(d => d !== undefined) as Delivery[]
    yield * values
    yield * [...this.texts.values()]
  }

  /** The keys (id texts) of the events in flight. */
  * keys (): IterableIterator<string> {
    for (const d of this.values()) yield d.ev.key
  }

  /** [key, delivery] pairs, as a Map's entries. */
  * [Symbol.iterator] (): IterableIterator<[string, Delivery]> {
    for (const d of this.values()) yield [d.ev.key, d]
  }

  private find (k: string | number): Delivery | undefined {
    if (typeof k === 'string') return this.texts.get(k)
    const i = this.slotFor(k)
    return i < 0 ? undefined : this.valuesAt[i]
  }

  /** The slot holding number key `k`, or -1. */
  private slotFor (k: number): number {
    const keys = this.keysAt
    const mask = keys.length - 1
    let i = slotOf(k, this.bits)
    for (;;) {
      const at = keys[i]
      if (at === k) return i
      if (at === EMPTY) return -1
      i = (i + 1) & mask
    }
  }

  private remove (k: string | number): boolean {
    if (typeof k === 'string') return this.texts.delete(k)
    const i = this.slotFor(k)
    if (i < 0) return false
    this.removeAt(i)
    return true
  }

  /** Empties slot `i`: every entry after the hole that may move into it (its home is not within (hole, j]) does. */
  private removeAt (i: number): void {
    const keys = this.keysAt
    const values = this.valuesAt
    const mask = keys.length - 1
    let j = i
    for (;;) {
      j = (j + 1) & mask
      const at = keys[j]
      if (at === EMPTY) break
      if (((j - slotOf(at, this.bits)) & mask) >= ((j - i) & mask)) {
        keys[i] = at
        values[i] = values[j]
        i = j
      }
    }
    keys[i] = EMPTY
    values[i] = undefined
    this.numbers--
    // A burst that is over gives its memory back (a quarter full at most is halved, down to MIN_BITS).
    if (this.bits > MIN_BITS && this.numbers * 8 < keys.length) this.resize(this.bits - 1)
  }

  private resize (bits: number): void {
    const oldKeys = this.keysAt
    const oldValues = this.valuesAt
    const keys = new Float64Array(1 << bits).fill(EMPTY)
    const values = new Array<Delivery | undefined>(1 << bits).fill(undefined)
    const mask = keys.length - 1
    for (let j = 0; j < oldKeys.length; j++) {
      const k = oldKeys[j]
      if (k === EMPTY) continue
      let i = slotOf(k, bits)
      while (keys[i] !== EMPTY) i = (i + 1) & mask
      keys[i] = k
      values[i] = oldValues[j]
    }
    this.keysAt = keys
    this.valuesAt = values
    this.bits = bits
  }
}

/** The home slot of number key `k` in a table of 2^bits slots: Fibonacci hashing of its low and high 32 bits. */
function slotOf (k: number, bits: number): number {
  const low = k >>> 0
  const high = k < 0x100000000 ? 0 : (k / 0x100000000) >>> 0
  return Math.imul(low ^ Math.imul(high, 0x85ebca6b), 0x9e3779b1) >>> (32 - bits)
}
