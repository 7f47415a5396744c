import type { StoredEvent } from './event'

/** Event priorities run from 0 to 9 (the event schema's bounds). */
const LEVELS = 10

/** One priority's events in arrival order: an array read from `head`, compacted now and then. */
class Fifo {
  items: StoredEvent[] = []
  head = 0

  get size (): number {
    return this.items.length - this.head
  }

  shift (): StoredEvent {
    const ev = this.items[this.head]
    this.items[this.head++] = undefined as unknown as StoredEvent // let the event go
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return ev
  }
}

/**
 * What an at-most-once (`ack=none`) subscription holds: events waiting to be
 * written while its subscriber's socket is not draining, highest priority
 * first, then oldest. Bounded: past `max` events the oldest of the lowest
 * priority goes (which is the new event itself when everything waiting
 * outranks it). Nothing here is journaled, acked or redelivered.
 */
export class AtMostOnceQueue {
  private readonly levels: Fifo[] = []
  private count = 0

  /** max: atMostOnceMaxWaiting. */
  constructor (readonly max: number) {
    for (let p = 0; p < LEVELS; p++) this.levels.push(new Fifo())
  }

  get size (): number {
    return this.count
  }

  /** Queues an event; returns true when the bound made one event go (the oldest of the lowest priority). */
  push (ev: StoredEvent): boolean {
    this.levels[ev.priority].items.push(ev)
    if (++this.count <= this.max) return false
    let p = 0
    while (this.levels[p].size === 0) p++ // count > max >= 1: some level holds an event
    this.levels[p].shift()
    this.count--
    return true
  }

  /** The next event to write (highest priority, oldest), taken out; undefined when empty. */
  shift (): StoredEvent | undefined {
    if (this.count === 0) return undefined
    let p = LEVELS - 1
    while (this.levels[p].size === 0) p--
    this.count--
    return this.levels[p].shift()
  }

  clear (): void {
    for (const level of this.levels) {
      level.items = []
      level.head = 0
    }
    this.count = 0
  }
}
