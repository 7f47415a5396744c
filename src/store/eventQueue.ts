import type { StoredEvent } from './event'

/** One priority's events in publish (seq) order; `head` is the next to go. */
interface Bucket {
  priority: number
  items: StoredEvent[]
  head: number
}

/**
 * A subscription's undelivered events: highest priority first, equal
 * priorities in publish order. One FIFO array per priority (there are at
 * most ten, 0-9) instead of a comparator-driven binary heap: enqueue and
 * dequeue are O(1) in the usual case and allocate nothing per event.
 * An event older than its bucket's tail (recovery) is inserted in order.
 */
export class EventQueue {
  /** Buckets by descending priority. */
  private readonly buckets: Bucket[] = []
  length = 0

  queue (ev: StoredEvent): void {
    const b = this.bucket(ev.priority)
    const items = b.items
    let i = items.length
    if (i > b.head && items[i - 1].seq > ev.seq) {
      while (i > b.head && items[i - 1].seq > ev.seq) i--
      items.splice(i, 0, ev)
    } else {
      items.push(ev)
    }
    this.length++
  }

  /** Recovery: adds an event without keeping its bucket in order; call sortAll() when done. */
  queueUnsorted (ev: StoredEvent): void {
    this.bucket(ev.priority).items.push(ev)
    this.length++
  }

  /** Puts every bucket back in publish order (a no-op scan when it already is). */
  sortAll (): void {
    for (const b of this.buckets) {
      const items = b.items
      let sorted = true
      for (let i = b.head + 1; i < items.length && sorted; i++) sorted = items[i - 1].seq <= items[i].seq
      if (sorted) continue
      b.items = items.slice(b.head).sort((x, y) => x.seq - y.seq)
      b.head = 0
    }
  }

  /** The next event (highest priority, oldest); undefined when empty. */
  dequeue (): StoredEvent | undefined {
    if (this.length === 0) return undefined
    const buckets = this.buckets
    for (let i = 0; i < buckets.length; i++) {
      const b = buckets[i]
      if (b.head < b.items.length) {
        const ev = b.items[b.head]
        b.items[b.head++] = undefined as unknown as StoredEvent // do not pin a delivered event
        this.length--
        if (b.head === b.items.length) {
          b.items = []
          b.head = 0
        } else if (b.head >= 1024 && b.head * 2 >= b.items.length) {
          b.items = b.items.slice(b.head)
          b.head = 0
        }
        return ev
      }
    }
    return undefined
  }

  /** Removes and returns the lowest-priority, oldest event; undefined when empty. */
  dropLowest (): StoredEvent | undefined {
    const buckets = this.buckets
    for (let i = buckets.length - 1; i >= 0; i--) {
      const b = buckets[i]
      if (b.head < b.items.length) {
        const ev = b.items[b.head]
        b.items[b.head++] = undefined as unknown as StoredEvent
        this.length--
        if (b.head === b.items.length) {
          b.items = []
          b.head = 0
        }
        return ev
      }
    }
    return undefined
  }

  /** Every event in delivery order (a copy). */
  toArray (): StoredEvent[] {
    const out: StoredEvent[] = []
    for (const b of this.buckets) {
      for (let i = b.head; i < b.items.length; i++) out.push(b.items[i])
    }
    return out
  }

  private bucket (priority: number): Bucket {
    const buckets = this.buckets
    let i = 0
    for (; i < buckets.length; i++) {
      const b = buckets[i]
      if (b.priority === priority) return b
      if (b.priority < priority) break
    }
    const b: Bucket = { priority, items: [], head: 0 }
    buckets.splice(i, 0, b)
    return b
  }
}
