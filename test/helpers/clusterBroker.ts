/**
 * Ackline cluster nodes in-process for the cluster semantics tests: each a
 * real broker (startBroker with `cluster`, port 0, no HTTP) on a real Redis
 * Cluster (test/helpers/redisCluster.ts), talked to with LineClient.
 */
import { startBroker, type Broker } from '../../src/broker'
import type { ClusterLayer } from '../../src/cluster/config'
import type { ConfigOverrides } from '../../src/config/loadConfig'
import { LineClient } from './broker'
import type { RedisCluster } from './redisCluster'

export interface TestNode {
  broker: Broker
  port: number
  /** A client of this node, destroyed at teardown. */
  client: () => Promise<LineClient>
  /** Clean stop (subscriptions released, names freed). */
  stop: () => Promise<void>
  /**
   * Dies as kill -9 would, for everything else in the cluster: the node's
   * Redis connections drop with nothing released, its clients' sockets close.
   */
  crash: () => Promise<void>
}

/** Starts an Ackline node on `rc`; `cluster` adds to its cluster section, `overrides` to its config. */
export async function startNode (t: { teardown: (fn: () => unknown) => void }, rc: RedisCluster,
  cluster: Partial<ClusterLayer> = {}, overrides: ConfigOverrides = {}): Promise<TestNode> {
  const broker = await startBroker({ overrides: { ...overrides, port: 0, host: '127.0.0.1', http: null, cluster: { redis: rc.urls, ...cluster } } })
  const clients: LineClient[] = []
  const node: TestNode = {
    broker,
    port: broker.address!.port,
    client: async () => {
      const c = await LineClient.connect(broker.address!.port)
      clients.push(c)
      return c
    },
    stop: async () => {
      for (const c of clients) c.destroy()
      await broker.stop()
    },
    crash: async () => {
      broker.cluster!.crash()
      await broker.stop()
    },
  }
  t.teardown(() => node.stop())
  return node
}

/** `{"…","timestamp":<n>,…}` with the timestamp's digits replaced, to compare texts stamped at different times. */
export function unstamped (line: string): string {
  return line.replace(/"timestamp":\d+/, '"timestamp":<ts>')
}
