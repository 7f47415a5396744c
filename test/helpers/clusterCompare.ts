/**
 * Same behaviour as one node, line by line: a scenario of client steps runs on
 * a single node and on three cluster nodes with the same config (client `a`
 * on the first node, `b` on the second, `c` on the third, `d` on the first…),
 * and every reply and event line must be equal (timestamps aside).
 */
import type { Test } from 'tap'
import type { ConfigOverrides } from '../../src/config/loadConfig'
import { startTestBroker, type LineClient } from './broker'
import { startNode, unstamped, type TestNode } from './clusterBroker'
import type { RedisCluster } from './redisCluster'

/** A step: a client sends a line and reads its reply, or (null) reads its next line (an EVENT); `(wait)`: 20 ms pass. */
export type Step = [client: string, line: string | null]

async function run (clientFor: (name: string) => Promise<LineClient>, steps: Step[]): Promise<string[]> {
  const out: string[] = []
  for (const [name, line] of steps) {
    const c = await clientFor(name)
    if (line === '(wait)') {
      await new Promise(resolve => setTimeout(resolve, 20))
      out.push('')
      continue
    }
    // A dead letter's `at` is its node's clock, as `timestamp` is.
    out.push(unstamped(line === null ? await c.next() : await c.request(line)).replace(/"at":\d+/, '"at":<ts>'))
  }
  return out
}

/**
 * Runs the steps on one node and on 3 cluster nodes of `rc`; asserts every line equal. `logins`: client → user
 * (its password `<user>-pw-1`), logged in when the client connects.
 */
export async function sameAsOneNode (t: Test, rc: RedisCluster, config: ConfigOverrides, steps: Step[], logins: Record<string, string> = {}): Promise<{ nodes: TestNode[], clients: Map<string, LineClient> }> {
  const single = await startTestBroker(t, { http: null, ...config })
  const nodes: TestNode[] = []
  for (let i = 0; i < 3; i++) nodes.push(await startNode(t, rc, {}, config))
  const pick = (map: Map<string, LineClient>, connect: (name: string) => Promise<LineClient>) => async (name: string): Promise<LineClient> => {
    let c = map.get(name)
    if (c === undefined) {
      c = await connect(name)
      map.set(name, c)
      const user = logins[name]
      if (user !== undefined) await c.request(`auth ${user} ${user}-pw-1`)
    }
    return c
  }
  const clients = new Map<string, LineClient>()
  const expected = await run(pick(new Map(), async () => await single.client()), steps)
  const got = await run(pick(clients, async name => await nodes[(name.charCodeAt(0) - 97) % 3].client()), steps)
  steps.forEach(([client, line], i) => t.equal(got[i], expected[i], `${client}${line === null ? '<' : '> ' + line}`))
  return { nodes, clients }
}
