import type { Cluster } from 'ioredis'
import { nameKey, nodeKey } from './keys'
import type { ClusterStore } from './redisStore'

/** Renews each name lease (KEYS) still held by its consumer (ARGV[i + 1]) for ARGV[1] ms. */
const RENEW = `
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[i + 1] then redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
end
return 1
`

/** Deletes a lease (KEYS[1]) only if ARGV[1] still holds it. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

/**
 * Liveness in Redis: a node's heartbeat key and the leases of durable names
 * (`name <client-id>`), each a key with a TTL of nodeTtlMs that the holder's
 * node renews on every heartbeat. A name held by a live connection anywhere
 * is NAME_IN_USE; once its node stops (or dies: the lease expires) it is free.
 * All name keys share the `{names}` tag, so one script renews them all.
 */
export class Leases {
  private readonly redis: Cluster

  constructor (private readonly store: ClusterStore, private readonly ttlMs: number) {
    this.redis = store.redis
  }

  /** This node is alive for another ttlMs. */
  async beat (nodeId: string): Promise<void> {
    await this.store.bounded('SET', this.redis.set(nodeKey(nodeId), String(Date.now()), 'PX', this.ttlMs))
  }

  /** This node is gone (a clean stop). */
  async forget (nodeId: string): Promise<void> {
    await this.store.bounded('DEL', this.redis.del(nodeKey(nodeId)))
  }

  /** Whether a node's heartbeat is current. */
  async alive (nodeId: string): Promise<boolean> {
    return await this.store.bounded('EXISTS', this.redis.exists(nodeKey(nodeId))) === 1
  }

  /** Takes a name for a consumer; false when someone holds it. */
  async acquire (name: string, consumer: string): Promise<boolean> {
    return await this.store.bounded('SET', this.redis.set(nameKey(name), consumer, 'PX', this.ttlMs, 'NX')) === 'OK'
  }

  /** Renews the names this node's sessions hold: name → consumer. */
  async renew (held: ReadonlyMap<string, string>): Promise<void> {
    if (held.size === 0) return
    const keys = [...held.keys()].map(nameKey)
    await this.store.bounded('EVAL', this.redis.eval(RENEW, keys.length, ...keys, this.ttlMs, ...held.values()))
  }

  async release (name: string, consumer: string): Promise<void> {
    await this.store.bounded('EVAL', this.redis.eval(RELEASE, 1, nameKey(name), consumer))
  }
}
