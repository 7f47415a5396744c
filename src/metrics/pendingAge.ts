import type { Store } from '../store/store'
import type { Topic } from '../store/topic'

/** The timestamp found for a topic's lowest owed offset, kept until that offset changes. */
interface Known { offset: number, timestamp: number }

/**
 * How long the oldest event some subscriber still owes (pending or in
 * flight, not yet acked) has waited, per topic: the timestamp of the topic's
 * lowest owed offset, from memory or one read of its segments, remembered
 * while that offset stays the lowest (so a scrape reads the disk only when a
 * queue's head moved).
 */
export class PendingAge {
  private readonly known = new WeakMap<Topic, Known>()
  /** Timestamps read from the segments for subscribers' oldest owed offsets. */
  private readonly subscriberHeads = new WeakMap<Topic, Map<number, number>>()

  /** Milliseconds the topic's oldest owed event has waited at `now`; 0 when nothing is owed. */
  async topicAgeMs (topic: Topic, now: number): Promise<number> {
    const offset = topic.lowestOwed()
    if (offset === Infinity || offset >= topic.nextOffset) return 0
    let k = this.known.get(topic)
    if (k === undefined || k.offset !== offset) {
      let ts = topic.eventAt(offset)?.timestamp
      if (ts === undefined) {
        try {
          const evs = await topic.readEvents(offset, topic.nextOffset - 1, 0)
          ts = evs[0]?.timestamp
        } catch {
          ts = undefined
        }
      }
      if (ts === undefined) return 0
      k = { offset, timestamp: ts }
      this.known.set(topic, k)
    }
    return Math.max(0, now - k.timestamp)
  }

  /** Milliseconds the event at `offset` of `topic` has waited (a subscriber's oldest owed one); 0 when it is not retained. */
  async offsetAgeMs (topic: Topic, offset: number, now: number): Promise<number> {
    let ts = topic.eventAt(offset)?.timestamp
    if (ts === undefined) {
      let byOffset = this.subscriberHeads.get(topic)
      if (byOffset === undefined) this.subscriberHeads.set(topic, (byOffset = new Map()))
      ts = byOffset.get(offset)
      if (ts === undefined) {
        try {
          ts = (await topic.readEvents(offset, topic.nextOffset - 1, 0))[0]?.timestamp
        } catch {
          ts = undefined
        }
        if (ts === undefined) return 0
        if (byOffset.size >= 1000) byOffset.clear() // heads move on; keep the memo small
        byOffset.set(offset, ts)
      }
    }
    return Math.max(0, now - ts)
  }

  /** Ages of every topic (ms), by name. */
  async all (store: Store, now: number, visible: (topic: string) => boolean = () => true): Promise<Map<string, number>> {
    const out = new Map<string, number>()
    for (const t of [...store.topics.values()]) {
      if (visible(t.name)) out.set(t.name, await this.topicAgeMs(t, now))
    }
    return out
  }
}
