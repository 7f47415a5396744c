import type { Cluster } from 'ioredis'
import type { Logger } from '../log'
import { familyOf, notifyChannel } from './keys'
import type { ClusterStore } from './redisStore'

/** What an announcement says: new events (`p`), the topic was deleted (`x`), or made (`w`, on PATTERNS_CHANNEL). */
export type AnnouncementKind = 'p' | 'x' | 'w'

/**
 * Announcements over Redis sharded pub/sub (SPUBLISH/SSUBSCRIBE, Redis 7):
 * one channel per topic family, `ackline:{<base>}:notify`, served by the
 * family's own shard. A message is `<kind> <topic>`. A node listens to a
 * family while it has a local subscriber on one of its topics. Announcements
 * are hints: a lost one only delays a delivery until the next periodic pull.
 */
export class Announcer {
  /** Local subscribers per family being listened to. */
  private readonly listeners = new Map<string, number>()

  private readonly redis: Cluster

  constructor (private readonly store: ClusterStore, private readonly log: Logger,
    private readonly heard: (kind: AnnouncementKind, topic: string) => void) {
    const redis = this.redis = store.redis
    redis.on('smessage', (_channel: string, message: string) => {
      const space = message.indexOf(' ')
      if (space < 0) return
      this.heard(message.slice(0, space) as AnnouncementKind, message.slice(space + 1))
    })
  }

  /** One more local subscriber on `topic`: listens to its family. */
  async listen (topic: string): Promise<void> {
    const family = familyOf(topic)
    const n = this.listeners.get(family) ?? 0
    this.listeners.set(family, n + 1)
    if (n === 0) await this.store.bounded('SSUBSCRIBE', this.redis.ssubscribe(notifyChannel(topic)))
  }

  /** One local subscriber fewer on `topic`: stops listening to its family after the last. */
  unlisten (topic: string): void {
    const family = familyOf(topic)
    const n = this.listeners.get(family) ?? 0
    if (n > 1) {
      this.listeners.set(family, n - 1)
      return
    }
    this.listeners.delete(family)
    this.redis.sunsubscribe(notifyChannel(topic)).catch((err: unknown) => this.log.warn({ err, topic }, 'sunsubscribe failed'))
  }

  /** Tells every node listening to the topic's family; never throws (a lost announcement only delays). */
  announce (kind: AnnouncementKind, topic: string): void {
    this.redis.spublish(notifyChannel(topic), `${kind} ${topic}`).catch((err: unknown) => this.log.warn({ err, topic }, 'announcement failed'))
  }
}
