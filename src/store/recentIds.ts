/**
 * The publisher-given ids a topic has seen recently: for each id, the offset
 * of its newest event. Broker-assigned ids are unique by construction and are
 * not kept. `pub` looks ids up in it for an idempotent publish (an id seen
 * within the dedupe window, or still pending, is a duplicate: `stampOf`), and
 * dead letters for `DUPLICATE_ID`.
 *
 * Entries are kept while their event may still be owed to a subscription
 * (offset at or above the topic's lowest owed offset) or is younger than the
 * dedupe window; `prune` forgets the rest, oldest first, from a FIFO of
 * (id, offset, timestamp) kept in parallel arrays; the map holds each id's
 * absolute place in that FIFO (`base` + index). About 100 bytes per id.
 */
export class RecentIds {
  /** Each id's newest entry: its absolute place in the FIFO. */
  private readonly map = new Map<string, number>()
  private keys: string[] = []
  private offsets: number[] = []
  private stamps: number[] = []
  private head = 0
  /** The absolute place of keys[0]. */
  private base = 0

  /** Ids held. */
  get size (): number {
    return this.map.size
  }

  /** The offset of the newest event published with this id, or undefined. */
  get (key: string): number | undefined {
    const p = this.map.get(key)
    return p === undefined ? undefined : this.offsets[p - this.base]
  }

  /** When the newest event published with this id was stamped, or undefined. */
  stampOf (key: string): number | undefined {
    const p = this.map.get(key)
    return p === undefined ? undefined : this.stamps[p - this.base]
  }

  /** An event with a publisher-given id was published (offsets increase). */
  note (key: string, offset: number, timestamp: number): void {
    this.map.set(key, this.base + this.keys.length)
    this.keys.push(key)
    this.offsets.push(offset)
    this.stamps.push(timestamp)
  }

  /**
   * Forgets, oldest first, the ids whose newest event is below `minOffset`
   * and stamped before `minTimestamp`; and, past `maxIds`, the oldest ones
   * whatever they are. Returns how many were forgotten.
   */
  prune (minOffset: number, minTimestamp: number, maxIds = Infinity): number {
    let h = this.head
    let n = 0
    const keys = this.keys
    while (h < keys.length && ((this.offsets[h] < minOffset && this.stamps[h] < minTimestamp) || this.map.size > maxIds)) {
      const key = keys[h]
      if (this.map.get(key) === this.base + h) { this.map.delete(key); n++ }
      h++
    }
    if (h === keys.length) {
      this.base += keys.length
      this.keys = []
      this.offsets = []
      this.stamps = []
      h = 0
    } else if (h >= 1024 && h * 2 >= keys.length) {
      this.base += h
      this.keys = keys.slice(h)
      this.offsets = this.offsets.slice(h)
      this.stamps = this.stamps.slice(h)
      h = 0
    }
    this.head = h
    return n
  }

  clear (): void {
    this.map.clear()
    this.keys = []
    this.offsets = []
    this.stamps = []
    this.head = 0
    this.base = 0
  }
}
