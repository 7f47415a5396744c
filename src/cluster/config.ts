/**
 * Config of cluster mode (`cluster` in the config file, `ackline start
 * --cluster <seeds>`): its type, defaults, JSON-schema fragment, the merge of
 * a partial section over the defaults, and the parsing of the `--cluster`
 * flag. `cluster` is null by default: a single node with its own log dir.
 */

/** Cluster mode: the node keeps its state in a Redis Cluster (docs/cluster.md). */
export interface ClusterConfig {
  /** Seed nodes of the Redis Cluster, `host:port` (a `redis://` prefix is accepted); ioredis discovers the rest. */
  redis: string[]
  /** This node's id in the node registry and in consumer ids; null: a random one at start. */
  nodeId: string | null
  /** Replicas that must acknowledge a change (Redis WAIT) before its `OK`; 0 confirms once the master applied it. */
  waitReplicas: number
  /** How long WAIT waits for those replicas; fewer by then: `ERR NOT_REPLICATED`. */
  waitTimeoutMs: number
  /** Each local subscriber pulls at least this often, so a lost announcement only delays. */
  pullIntervalMs: number
  /** How often this node enforces ack deadlines, nack delays and dead nodes' leftovers over every topic. */
  reapIntervalMs: number
  /** A node (and the names its clients hold) counts as dead when its heartbeat is older than this. */
  nodeTtlMs: number
  /** A Redis command (script and WAIT included) not answered within this is CLUSTER_UNAVAILABLE; more than a failover takes. */
  commandTimeoutMs: number
}

/** The values a `cluster` section gets for the fields it does not name. */
export const CLUSTER_DEFAULTS: Readonly<Omit<ClusterConfig, 'redis'>> = Object.freeze({
  nodeId: null,
  waitReplicas: 1,
  waitTimeoutMs: 1000,
  pullIntervalMs: 1000,
  reapIntervalMs: 250,
  nodeTtlMs: 5000,
  commandTimeoutMs: 10000,
})

/** A config layer's `cluster`: `redis` and any of the other fields. */
export type ClusterLayer = Partial<ClusterConfig> & { redis: string[] }

/** `host:port`, optionally after `redis://`: what a seed may look like. */
const SEED = '^(redis://)?[A-Za-z0-9.:\\[\\]_-]+:[0-9]{1,5}$'

export const clusterSchema = {
  anyOf: [
    { type: 'null' },
    {
      type: 'object',
      additionalProperties: false,
      required: ['redis'],
      properties: {
        redis: { type: 'array', minItems: 1, items: { type: 'string', pattern: SEED, description: 'a Redis Cluster node, host:port' } },
        nodeId: { anyOf: [{ type: 'null' }, { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' }] },
        waitReplicas: { type: 'integer', minimum: 0, maximum: 16 },
        waitTimeoutMs: { type: 'integer', minimum: 1, maximum: 60000 },
        pullIntervalMs: { type: 'integer', minimum: 10, maximum: 60000 },
        reapIntervalMs: { type: 'integer', minimum: 10, maximum: 60000 },
        nodeTtlMs: { type: 'integer', minimum: 100, maximum: 600000 },
        commandTimeoutMs: { type: 'integer', minimum: 100, maximum: 600000 },
      },
    },
  ],
} as const

/** A layer's `cluster` over the one below: null turns cluster mode off; an object keeps unnamed fields. */
export function mergeClusterConfig (base: ClusterConfig | null, layer: ClusterLayer | null | undefined): ClusterConfig | null {
  if (layer === undefined) return base
  if (layer === null) return null
  return { ...CLUSTER_DEFAULTS, ...(base ?? {}), ...layer, redis: [...layer.redis] }
}

/**
 * The `--cluster` flag: `redis://127.0.0.1:7001,127.0.0.1:7002,…` (each
 * seed may carry `redis://`) as the seeds list; null when it is not one.
 */
export function parseClusterSeeds (text: string): string[] | null {
  const seeds = text.split(',').map(s => s.trim()).filter(s => s !== '').map(s => s.replace(/^redis:\/\//, ''))
  if (seeds.length === 0) return null
  const re = new RegExp(SEED)
  return seeds.every(s => re.test(s)) ? seeds : null
}

/** `host:port` of a seed (its `redis://` dropped; IPv6 in brackets). */
export function seedAddress (seed: string): { host: string, port: number } {
  const s = seed.replace(/^redis:\/\//, '')
  const colon = s.lastIndexOf(':')
  return { host: s.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(s.slice(colon + 1)) }
}
