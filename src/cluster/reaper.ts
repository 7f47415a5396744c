import { DLQ_SUFFIX } from '../store/names'
import { anonymousNode, topicPrefix } from './keys'
import type { ClusterNode } from './node'

/** Expired deliveries handled per subscription and sweep (the rest at the next sweep). */
const REAP_LIMIT = 1000
/** Topics swept at once. */
const PARALLEL_TOPICS = 32

/**
 * Every node runs the reaper every cluster.reapIntervalMs over every topic
 * (the topics set), so deadlines hold whichever node delivered and whether
 * it still runs: in-flight events past their ack deadline and nacked events
 * whose delay is over go back to the front of their queue (or, past
 * maxDeliveries, to `<topic>.dlq`), and the topic is announced. About once
 * per nodeTtlMs it also ends the anonymous subscriptions of nodes whose
 * heartbeat has expired. Scripts are atomic, so nodes reaping the same topic
 * at once do not conflict.
 */
export class Reaper {
  private running: Promise<void> | null = null
  private lastOrphanSweep = 0

  constructor (private readonly node: ClusterNode) {}

  /** One sweep, unless one is still running. */
  sweep (): void {
    if (this.running !== null || this.node.stopped) return
    this.running = this.run()
      .catch((err: unknown) => this.node.log.warn({ err }, 'reaper sweep failed'))
      .finally(() => { this.running = null })
  }

  /** Waits for a running sweep. */
  async idle (): Promise<void> {
    await this.running
  }

  private async run (): Promise<void> {
    const topics = await this.node.store.topicNames()
    const now = this.node.clock.now()
    const orphans = now - this.lastOrphanSweep >= this.node.config.nodeTtlMs
    if (orphans) this.lastOrphanSweep = now
    const alive = new Map<string, Promise<boolean>>()
    for (let i = 0; i < topics.length; i += PARALLEL_TOPICS) {
      await Promise.all(topics.slice(i, i + PARALLEL_TOPICS).map(async t => {
        await this.reapTopic(t)
        if (orphans) await this.endOrphans(t, alive)
      }))
      if (this.node.stopped) return
    }
  }

  private async reapTopic (topic: string): Promise<void> {
    const node = this.node
    const r = await node.store.run('acklineReap', topic, [node.broker.maxDeliveries, topic.endsWith(DLQ_SUFFIX) ? 1 : 0, REAP_LIMIT], false)
    const moved = Number(r[0])
    for (let i = 1; i + 3 < r.length; i += 4) {
      const key = String(r[i])
      const offset = Number(r[i + 1])
      const deliveries = Number(r[i + 2])
      await node.deadLetter(topic, key, offset, deliveries, String(r[i + 3]), 'ack timeout')
    }
    if (moved > 0) {
      if (node.context !== undefined && node.context !== null) node.context.store.counters.redelivered += moved
      node.announce(topic)
    }
  }

  /** Ends anonymous subscriptions whose node's heartbeat has expired (their client's connection is gone with it). */
  private async endOrphans (topic: string, alive: Map<string, Promise<boolean>>): Promise<void> {
    const node = this.node
    const keys = await node.store.redis.smembers(topicPrefix(topic) + 'subs')
    for (const key of keys) {
      const owner = anonymousNode(key)
      if (owner === null || owner === node.id) continue
      let live = alive.get(owner)
      if (live === undefined) alive.set(owner, live = node.leases.alive(owner))
      if (await live) continue
      await node.store.run('acklineUnsubscribe', topic, [key], false)
      node.log.info({ topic, subscription: key, node: owner }, 'ended an anonymous subscription of a dead node')
    }
  }
}
