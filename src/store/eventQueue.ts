import PriorityQueue from 'js-priority-queue'
import type { StoredEvent } from './event'

/** One priority's events in publish (seq) order; `head` is the next to go. */
interface Bucket {
  priority: number
  items: StoredEvent[]
  head: number
  /** Whether the bucket is in the `ready` heap (it may have emptied since: removed lazily). */
  inHeap: boolean
}

function byPriority (a: Bucket, b: Bucket): number {
  return b.priority - a.priority
}

/**
 * A subscription's undelivered events: highest priority first, equal
 * priorities in publish order. A js-priority-queue orders the non-empty
 * priority levels; each level is a FIFO array. The heap holds at most ten
 * buckets (priorities 0-9) and is touched only when a level fills or
 * empties, so enqueue and dequeue are O(1) in the usual case and allocate
 * nothing per event. An event older than its bucket's tail (recovery) is
 * inserted in order.
 */
export class EventQueue {
  /** Buckets indexed by priority. */
  private readonly levels: Array<Bucket | undefined> = []
  /** Non-empty buckets, highest priority first (empty ones leave lazily). */
  private readonly ready = new PriorityQueue<Bucket>({ comparator: byPriority })
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
    for (const b of this.levels) {
      if (b === undefined) continue
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
    const ready = this.ready
    for (;;) {
      const b = ready.peek()
      if (b.head < b.items.length) return this.take(b)
      ready.dequeue() // emptied by dropLowest: leaves the heap now
      b.inHeap = false
    }
  }

  /** Removes and returns the lowest-priority, oldest event; undefined when empty. */
  dropLowest (): StoredEvent | undefined {
    if (this.length === 0) return undefined
    for (const b of this.levels) {
      if (b !== undefined && b.head < b.items.length) return this.take(b)
    }
    return undefined
  }

  /** Every event in delivery order (a copy). */
  toArray (): StoredEvent[] {
    const out: StoredEvent[] = []
    for (let p = this.levels.length - 1; p >= 0; p--) {
      const b = this.levels[p]
      if (b === undefined) continue
      for (let i = b.head; i < b.items.length; i++) out.push(b.items[i])
    }
    return out
  }

  private take (b: Bucket): StoredEvent {
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

  private bucket (priority: number): Bucket {
    let b = this.levels[priority]
    if (b === undefined) {
      b = { priority, items: [], head: 0, inHeap: false }
      this.levels[priority] = b
    }
    if (!b.inHeap) {
      b.inHeap = true
      this.ready.queue(b)
    }
    return b
  }
}
