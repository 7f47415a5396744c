import { retentionFor } from '../persistence/retention'
import { DLQ_SUFFIX } from '../store/names'
import { anonymousNode, consumerNode, SUB_KEYS, topicPrefix } from './keys'
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
 * maxDeliveries, to `<topic>.dlq`), and the topic is announced; retained
 * events past the topic's retention (`retention`, its overrides included)
 * that no subscription owes are trimmed, oldest first. About once
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
    if (orphans) await this.node.wildcards.reapDead(async owner => await this.node.leases.alive(owner))
  }

  private async reapTopic (topic: string): Promise<void> {
    const node = this.node
    const retention = retentionFor(topic, node.broker.retention)
    const r = await node.store.run('acklineReap', topic, [node.broker.maxDeliveries, topic.endsWith(DLQ_SUFFIX) ? 1 : 0, REAP_LIMIT,
      retention.maxAgeMs, retention.maxBytes], false)
    const moved = Number(r[0])
    for (let i = 2; i + 3 < r.length; i += 4) {
      const key = String(r[i])
      const offset = Number(r[i + 1])
      const deliveries = Number(r[i + 2])
      await node.deadLetter(topic, key, offset, deliveries, String(r[i + 3]), 'ack timeout')
    }
    if (moved > 0) {
      const ctx = node.context
      if (ctx !== null) ctx.store.counters.redelivered += moved
      node.announce(topic)
    }
  }

  /**
   * What dead nodes' clients left: their anonymous subscriptions end (the
   * connection is gone with the node), their group memberships end and give
   * back what they held to the group's other members. A named subscription
   * waits for its client to resume (its deadlines still hold).
   */
  private async endOrphans (topic: string, alive: Map<string, Promise<boolean>>): Promise<void> {
    const node = this.node
    const prefix = topicPrefix(topic)
    const isAlive = (owner: string): Promise<boolean> => {
      let live = alive.get(owner)
      if (live === undefined) alive.set(owner, live = owner === node.id ? Promise.resolve(true) : node.leases.alive(owner))
      return live
    }
    const keys = await node.store.bounded('SMEMBERS', node.store.redis.smembers(prefix + 'subs'))
    for (const key of keys) {
      const owner = anonymousNode(key)
      if (owner !== null && !await isAlive(owner)) {
        await node.store.run('acklineUnsubscribe', topic, [key], false)
        node.log.info({ topic, subscription: key, node: owner }, 'ended an anonymous subscription of a dead node')
      }
      if (!key.startsWith('g:')) continue
      for (const consumer of await node.store.bounded('HKEYS', node.store.redis.hkeys(`${prefix}s:${key}:${SUB_KEYS.members}`))) {
        if (await isAlive(consumerNode(consumer))) continue
        const r = await node.store.run('acklineDetach', topic, [key, consumer], false)
        if (Number(r[0]) > 0) node.announce(topic)
        node.log.info({ topic, subscription: key, consumer }, 'removed a group member of a dead node')
      }
    }
  }
}
