import type { StoredEvent } from './event'

/**
 * What one cached event is counted as beyond its text: the event object, its
 * entry in its topic's map and in the eviction queue. An estimate; the point
 * is that the cache's footprint follows `eventCacheBytes`, not the backlog.
 */
export const CACHED_EVENT_OVERHEAD = 128

/** Bytes an event is counted as in the cache. */
export function cachedSize (ev: StoredEvent): number {
  return ev.json.length + CACHED_EVENT_OVERHEAD
}

/**
 * The hot-event cache shared by every topic (storage v2): events recently
 * stored or read from segments, so a subscriber that keeps up, or several
 * that read the same range, need no disk read. Each topic keeps its cached
 * events in its own map by offset; this object bounds their total
 * (`eventCacheBytes`) and evicts the oldest insertions first. Events waiting
 * for a subscriber are not kept here for that reason: they stay on disk.
 */
export class EventCache {
  readonly maxBytes: number
  /** Bytes counted for the events held now (cachedSize of each). */
  bytes = 0
  /** Events held now. */
  count = 0
  // The eviction queue, oldest first, as parallel arrays from `head` (no object per entry).
  private maps: Array<Map<number, StoredEvent> | null> = []
  private offsets: number[] = []
  private head = 0

  constructor (maxBytes: number) {
    this.maxBytes = maxBytes
  }

  /** Caches `ev` in its topic's map (a no-op when already there), evicting the oldest events past maxBytes. */
  put (map: Map<number, StoredEvent>, ev: StoredEvent): void {
    if (map.has(ev.offset)) return
    map.set(ev.offset, ev)
    this.maps.push(map)
    this.offsets.push(ev.offset)
    this.bytes += cachedSize(ev)
    this.count++
    if (this.bytes > this.maxBytes) this.evict()
  }

  /** A topic is gone: its events leave the cache. */
  drop (map: Map<number, StoredEvent>): void {
    for (const ev of map.values()) { this.bytes -= cachedSize(ev); this.count-- }
    map.clear()
    // Their queue entries stay until evicted; evicting an entry whose map no longer has it costs nothing.
  }

  private evict (): void {
    const maps = this.maps
    const offsets = this.offsets
    let h = this.head
    while (this.bytes > this.maxBytes && h < maps.length) {
      const map = maps[h]!
      const ev = map.get(offsets[h])
      maps[h] = null
      h++
      if (ev === undefined) continue
      map.delete(ev.offset)
      this.bytes -= cachedSize(ev)
      this.count--
    }
    if (h === maps.length) {
      this.maps = []
      this.offsets = []
      h = 0
    } else if (h >= 4096 && h * 2 >= maps.length) {
      this.maps = maps.slice(h)
      this.offsets = offsets.slice(h)
      h = 0
    }
    this.head = h
  }
}
