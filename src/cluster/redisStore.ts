import { Cluster } from 'ioredis'
import { fail } from '../errors'
import type { Logger } from '../log'
import { seedAddress, type ClusterConfig } from './config'
import { TOPICS_KEY, topicPrefix } from './keys'
import { SCRIPTS, scriptSource, type ScriptName } from './scripts'

/** What a script returns: Redis replies as ioredis gives them. */
export type Reply = Array<number | string>

/** One event handed to a consumer by `pull`. */
export interface Pulled {
  offset: number
  deliveries: number
  /** The stored event text, byte for byte as on one node. */
  text: string
}

/**
 * The node's view of the Redis Cluster: one ioredis Cluster client (with
 * sharded subscribers for announcements), the Lua scripts defined on it, and
 * typed calls, one per script. A change (`confirmed: true`) runs in one
 * pipeline with `WAIT <waitReplicas> <waitTimeoutMs>`: both go to the master
 * of the topic's slot (the pipeline's slot is its keyed command's), so the
 * OK it leads to means the master applied it and enough replicas have it.
 */
export class ClusterStore {
  readonly redis: Cluster
  private readonly config: ClusterConfig
  private readonly log: Logger

  constructor (config: ClusterConfig, log: Logger) {
    this.config = config
    this.log = log
    this.redis = new Cluster(config.redis.map(seedAddress), {
      shardedSubscribers: true,
      lazyConnect: true,
      // Commands wait while the cluster is (re)discovered, e.g. during a failover, instead of failing at once.
      enableOfflineQueue: true,
      clusterRetryStrategy: (times) => Math.min(100 * times, 2000),
      redisOptions: { maxRetriesPerRequest: 20 },
    })
    this.redis.on('error', (err: Error) => this.log.warn({ err }, 'redis cluster client error'))
    for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
      this.redis.defineCommand(name, { numberOfKeys: 1, lua: scriptSource(name) })
    }
  }

  /** Connects and checks the cluster answers. */
  async connect (): Promise<void> {
    await this.redis.connect()
    await this.redis.ping()
  }

  async close (): Promise<void> {
    try {
      await this.bounded('QUIT', this.redis.quit(), 1000)
    } catch {
      this.redis.disconnect()
    }
  }

  /**
   * A Redis call that fails (`no answer … within`) past cluster.commandTimeoutMs
   * instead of waiting for ever in ioredis's offline queue while the cluster is
   * unreachable. The call may still be applied later.
   */
  async bounded<T> (what: string, call: Promise<T>, ms = this.config.commandTimeoutMs): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer to ${what} within ${ms} ms`)), ms)
      timer.unref()
    })
    try {
      return await Promise.race([call, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * Runs a script on its topic's slot. confirmed: in one pipeline with WAIT;
   * fewer replicas than waitReplicas within waitTimeoutMs is NOT_REPLICATED
   * (the change stands on the master: it may still be delivered).
   */
  async run (name: ScriptName, topic: string, args: ReadonlyArray<string | number>, confirmed: boolean): Promise<Reply> {
    const prefix = topicPrefix(topic)
    return await this.runAt(name, prefix + 'seq', prefix, args, confirmed)
  }

  /** Runs a script on the slot of `key` with `prefix` as its ARGV[1] (run: a topic's; the exchange scripts: `{exchanges}`). */
  async runAt (name: ScriptName, key: string, prefix: string, args: ReadonlyArray<string | number>, confirmed: boolean): Promise<Reply> {
    return await this.bounded(name, this.runUnbounded(name, key, prefix, args, confirmed))
  }

  private async runUnbounded (name: ScriptName, key: string, prefix: string, args: ReadonlyArray<string | number>, confirmed: boolean): Promise<Reply> {
    const wait = confirmed ? this.config.waitReplicas : 0
    if (wait === 0) {
      return await (this.redis as unknown as Record<ScriptName, (...a: unknown[]) => Promise<Reply>>)[name](key, prefix, ...args)
    }
    const pipeline = this.redis.pipeline() as unknown as Record<ScriptName, (...a: unknown[]) => unknown> & { call: (...a: unknown[]) => unknown, exec: () => Promise<Array<[Error | null, unknown]> | null> }
    pipeline[name](key, prefix, ...args)
    pipeline.call('WAIT', wait, this.config.waitTimeoutMs)
    const results = await pipeline.exec()
    if (results === null) throw new Error('redis pipeline aborted')
    const [[scriptErr, reply], [waitErr, replicas]] = results
    if (scriptErr !== null) throw scriptErr
    if (waitErr !== null) throw waitErr
    if ((replicas as number) < wait) fail('NOT_REPLICATED', { got: replicas as number, want: wait, ms: this.config.waitTimeoutMs })
    return reply as Reply
  }

  /**
   * Registers a topic name in the topics set (once per node and topic: the
   * caller remembers). With `max`, a name that would make the set larger is
   * taken out again: false.
   */
  async registerTopic (topic: string, max?: number): Promise<boolean> {
    const added = await this.bounded('SADD', this.redis.sadd(TOPICS_KEY, topic))
    if (added === 0 || max === undefined || await this.bounded('SCARD', this.redis.scard(TOPICS_KEY)) <= max) return true
    await this.bounded('SREM', this.redis.srem(TOPICS_KEY, topic))
    return false
  }

  async unregisterTopic (topic: string): Promise<void> {
    await this.bounded('SREM', this.redis.srem(TOPICS_KEY, topic))
  }

  /** Every registered topic name. */
  async topicNames (): Promise<string[]> {
    return await this.bounded('SMEMBERS', this.redis.smembers(TOPICS_KEY))
  }
}

/** The `{offset, deliveries, text}` triples of a pull or reap reply, from index `from`. */
export function pulledFrom (reply: Reply, from: number): Pulled[] {
  const out: Pulled[] = []
  for (let i = from; i + 2 < reply.length; i += 3) {
    out.push({ offset: Number(reply[i]), deliveries: Number(reply[i + 1]), text: String(reply[i + 2]) })
  }
  return out
}
