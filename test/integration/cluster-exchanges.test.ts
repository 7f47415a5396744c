import t, { type Test } from 'tap'
import WebSocket from 'ws'
import { startBroker } from '../../src/broker'
import type { ConfigOverrides } from '../../src/config/loadConfig'
import { testHash } from '../helpers/auth'
import { startTestBroker, waitFor, type LineClient } from '../helpers/broker'
import { startNode, type TestNode } from '../helpers/clusterBroker'
import { hasRedis, skipReason, startRedisCluster, type RedisCluster } from '../helpers/redisCluster'

// Exchanges in cluster mode (docs/cluster.md#exchanges): definitions and bindings in Redis, shared by
// every node. Most tests run one scenario twice, on a single node and on 3 cluster nodes (client i on node
// i % 3: declared on one node, bound on another, routed on a third), and compare every reply and every
// event byte for byte (timestamps and broker-made UUIDs aside).

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g

/** A line with its timestamps and UUIDs masked. */
function masked (line: string): string {
  return line.replace(/"timestamp":\d+/g, '"timestamp":<ts>').replace(UUID, '<uuid>')
}

interface Scenario {
  config?: ConfigOverrides
  /** Lines sent before the subscribers subscribe (by client 0): creating topics. */
  setup?: string[]
  /** Subscribers: [client index (3 or more: they send nothing else), sub line]; each on one topic, so its events keep their order. */
  subs?: Array<[number, string]>
  /** Commands: [client index (0 to 2: they subscribe to nothing), line]; each reply is compared. */
  steps: Array<[number, string]>
}

interface Outcome {
  replies: string[]
  /** Every client's events, in the order received. */
  events: Map<number, string[]>
}

/** Runs a scenario on clients (index → client); `expected`: the single node's outcome, whose event counts are awaited. */
async function play (clientOf: (i: number) => Promise<LineClient>, s: Scenario, expected?: Outcome): Promise<Outcome> {
  const replies: string[] = []
  const setup = await clientOf(0)
  for (const line of s.setup ?? []) replies.push(await setup.request(line))
  for (const [i, line] of s.subs ?? []) replies.push(await (await clientOf(i)).request(line))
  for (const [i, line] of s.steps) replies.push(masked(await (await clientOf(i)).request(line)))
  const events = new Map<number, string[]>()
  for (const [i] of s.subs ?? []) {
    const c = await clientOf(i)
    const got: string[] = []
    if (expected === undefined) {
      for (;;) {
        try {
          got.push(masked(await c.next(300)))
        } catch {
          break
        }
      }
    } else {
      for (let k = 0; k < (expected.events.get(i)?.length ?? 0); k++) got.push(masked(await c.next()))
      if (!await c.quiet(200)) got.push('(more events than on one node)')
    }
    events.set(i, got)
  }
  return { replies, events }
}

/** Runs the scenario on one node, then on 3 fresh cluster nodes (Redis emptied first), and compares. */
async function sameAsOneNode (t: Test, rc: RedisCluster, s: Scenario): Promise<{ single: Outcome, nodes: TestNode[] }> {
  const single = await startTestBroker(t, { http: null, ...s.config })
  const singleClients = new Map<number, LineClient>()
  const one = await play(async i => singleClients.get(i) ?? singleClients.set(i, await single.client()).get(i)!, s)
  for (const port of rc.masterPorts()) await rc.cli(port, 'FLUSHALL')
  const nodes: TestNode[] = []
  for (let i = 0; i < 3; i++) nodes.push(await startNode(t, rc, {}, s.config ?? {}))
  const clients = new Map<number, LineClient>()
  const many = await play(async i => clients.get(i) ?? clients.set(i, await nodes[i % 3].client()).get(i)!, s, one)
  t.same(many.replies, one.replies, 'every reply as on one node')
  t.same([...many.events], [...one.events], 'every event as on one node, byte for byte')
  return { single: one, nodes }
}

t.test('cluster exchanges', { skip: hasRedis() ? false : skipReason }, async t => {
  const rc = await startRedisCluster(t)

  await t.test('declared on A, bound on B, routed on C: delivered to subscribers on every node as on one node', async t => {
    const { single } = await sameAsOneNode(t, rc, {
      setup: ['create eu', 'create paid'],
      subs: [[3, 'sub eu'], [4, 'sub paid'], [5, 'sub eu']],
      steps: [
        [0, 'exchange shop topic'],
        [1, 'bind shop eu orders.eu.*'],
        [1, 'bind shop eu orders.#'],
        [2, 'bind shop paid #.paid'],
        [1, 'bind shop paid #.paid'],
        // Publisher bytes verbatim: spacing, escapes, unicode, members in their own order.
        [2, 'route shop orders.eu.paid { "msg" : {"a": [1, 2.50, "x\\u00e9\\n"]},  "id":"o-1" , "note":"ünïcödé ✓" }'],
        [0, 'route shop orders.us {"msg":"no id: a UUID, the same in every topic","priority":7}'],
        [1, 'route shop stock.nyse {"id":"s-1","msg":"nobody"}'],
        [2, 'route shop stock.nyse {"id":"s-2","msg":"nobody"} mandatory=1'],
        [0, 'unbind shop eu orders.#'],
        [2, 'route shop orders.us {"id":"o-2","msg":"unbound on another node: no longer routed"}'],
        [2, 'route shop orders.eu.x {"id":"o-3","msg":"still bound with orders.eu.*"}'],
        [1, 'exchanges'],
        [2, 'events eu'],
        [0, 'events paid'],
      ],
    })
    t.equal(single.events.get(3)!.length, 3, 'the scenario delivers (eu: o-1, the UUID one, o-3)')
    t.ok(single.replies.includes('OK o-1 routed to 2 topics'))
  })

  await t.test('fanout and direct exchanges, unbind, the listing, a UUID acked by its id', async t => {
    await sameAsOneNode(t, rc, {
      setup: ['create a', 'create b'],
      subs: [[4, 'sub a 10'], [5, 'sub b 10']],
      steps: [
        [0, 'exchange fan fanout'],
        [1, 'exchange fan fanout'],
        [2, 'exchange fan direct'],
        [0, 'bind fan a'],
        [1, 'bind fan b'],
        [2, 'bind fan b'],
        [0, 'bind fan b extra'],
        [2, 'route fan any.key {"id":"f1","msg":"hello"}'],
        [0, 'route fan k {"id":2,"priority":9,"msg":"numeric id"}'],
        [0, 'exchange logs direct'],
        [1, 'bind logs errors'],
        [1, 'bind logs errors error.*'],
        [2, 'bind logs errors error'],
        [0, 'bind logs all error'],
        [1, 'bind logs all info'],
        [2, 'route logs error {"id":1,"msg":"disk"}'],
        [0, 'route logs info {"id":2,"msg":"boot"}'],
        [1, 'route logs debug {"id":3,"msg":"noise"}'],
        [2, 'route logs info {"id":5,"msg":"x"} mandatory=1'],
        [0, 'unbind logs errors warn'],
        [1, 'unbind logs errors error'],
        [2, 'unbind logs errors error'],
        [0, 'unbind fan b'],
        [0, 'unbind fan b extra'],
        [1, 'route fan k {"id":"f2","msg":"only a now"}'],
        [2, 'exchanges'],
        [0, 'events errors'],
        [0, 'events all'],
      ],
    })
    // A broker-made id is the event's id in each topic: acked by it on any node.
    const c = await (await startNode(t, rc)).client()
    const r = await c.request('route fan k {"msg":"uuid"}')
    const id = /^OK (\S+) routed to 1 topic$/.exec(r)![1]
    t.match(id, UUID)
    const page = JSON.parse((await c.request('events a')).slice(3)) as { events: Array<{ id: unknown }> }
    t.equal(page.events.at(-1)!.id, id)
  })

  await t.test('errors: unknown exchange, type mismatch, bad names and keys; the connection stays usable', async t => {
    await sameAsOneNode(t, rc, {
      steps: [
        [0, 'route nowhere k {"msg":"x"}'],
        [1, 'bind nowhere t'],
        [2, 'unbind nowhere t'],
        [0, 'exchange bad/name fanout'],
        [0, 'exchange .. fanout'],
        [1, 'exchange ok headers'],
        [1, 'exchange'],
        [2, 'exchange t1 topic'],
        [2, 'exchange t1 fanout'],
        [0, 'bind t1 x'],
        [0, 'bind t1 x a.#.b'],
        [0, 'bind t1 x a.b*'],
        [1, 'bind t1 bad/topic a.b'],
        [1, 'bind t1 x a.*.c'],
        [2, 'route t1 a.b.c {"msg":1'],
        [2, 'route t1 a/b {"msg":1}'],
        [2, 'route t1 a.b.c {"timestamp":1}'],
        [0, 'route t1 a.b.c {"id":"ok","msg":1}'],
        [1, 'ping'],
      ],
    })
  })

  await t.test('limits at their edge, counted over the cluster: maxExchanges, maxBindingsPerExchange, maxTopics', async t => {
    await sameAsOneNode(t, rc, {
      config: { maxExchanges: 2, maxBindingsPerExchange: 2, maxTopics: 3 },
      setup: ['create t1'],
      steps: [
        [0, 'exchange x1 fanout'],
        [1, 'exchange x2 direct'],
        [2, 'exchange x3 fanout'],
        [2, 'exchange x1 fanout'],
        [0, 'bind x1 t1'],
        [1, 'bind x1 t2'],
        [2, 'bind x1 t3'],
        [2, 'bind x1 t2'],
        [0, 'unbind x1 t2'],
        [1, 'bind x1 t3'],
        [2, 'bind x1 t4'],
        // t1 exists; t3 is new: 2 topics of 3.
        [0, 'route x1 k {"id":"e1","msg":1}'],
        [1, 'bind x2 t4 k'],
        [1, 'bind x2 t5 k'],
        // t4 and t5 are new: 4 > 3, nothing is created.
        [2, 'route x2 k {"id":"e2","msg":1}'],
        [0, 'unbind x2 t5 k'],
        [2, 'route x2 k {"id":"e3","msg":1}'],
        [0, 'route x2 k {"id":"e4","msg":1}'],
        [1, 'events t4'],
        [2, 'events t5'],
        [0, 'exchanges'],
      ],
    })
  })

  await t.test('a route all topics do not admit publishes nothing: QUEUE_FULL, DUPLICATE_ID, as on one node', async t => {
    await sameAsOneNode(t, rc, {
      config: { maxPendingPerSubscriber: 1 },
      setup: ['create q1', 'create q2', 'exchange f fanout', 'bind f q1', 'bind f q2'],
      subs: [[4, 'sub q1 1'], [5, 'sub q2 1']],
      steps: [
        [0, 'route f k {"id":"r1","msg":1}'],
        [1, 'route f k {"id":"r1","msg":"refused: r1 is still held"}'],
        [2, 'route f k {"id":"r2","msg":"refused: q1 and q2 are full"}'],
        [0, 'unbind f q1'],
        [1, 'route f k {"id":"r3","msg":"refused: q2 is full"}'],
        [2, 'bind f q3'],
        [0, 'route f k {"id":"r4","msg":"refused: q2 is full, nothing to q3"}'],
        [1, 'events q1'],
        [2, 'events q2'],
        [0, 'events q3'],
      ],
    })
  })

  await t.test('ACL as on one node: bind needs the publish right on the topic, route on every topic it reaches', async t => {
    const users = {
      alice: { passwordHash: testHash('alice-pw-1'), publish: ['a.*', 'shared'], subscribe: ['a.*'] },
      bob: { passwordHash: testHash('bob-pw-22'), publish: ['b.*', 'shared'], subscribe: ['b.*'] },
    }
    await sameAsOneNode(t, rc, {
      config: { auth: { required: true, users } },
      steps: [
        [0, 'exchange x fanout'],
        [0, 'auth alice alice-pw-1'],
        [1, 'auth bob bob-pw-22'],
        [2, 'auth alice alice-pw-1'],
        [0, 'exchange x fanout'],
        [1, 'bind x b.one'],
        [0, 'bind x b.two'],
        [0, 'unbind x b.one'],
        [2, 'bind x shared'],
        [0, 'route x k {"id":"1","msg":"alice may not publish to b.one"}'],
        [1, 'route x k {"id":"2","msg":"bob may"}'],
        [1, 'exchanges'],
        [2, 'events shared'],
      ],
    })
  })

  await t.test('private topics: bound by their owner, routed by grantees (grants read from Redis), hidden from others, as on one node', async t => {
    const users = {
      alice: { passwordHash: testHash('alice-pw-1'), publish: ['shared'] },
      bob: { passwordHash: testHash('bob-pw-22'), publish: ['shared'] },
      carol: { passwordHash: testHash('carol-pw-3'), publish: ['shared'] },
    }
    const { single } = await sameAsOneNode(t, rc, {
      config: { auth: { required: true, users } },
      steps: [
        [0, 'auth alice alice-pw-1'],
        [1, 'auth bob bob-pw-22'],
        [2, 'auth carol carol-pw-3'],
        [0, 'pub ~alice.q {"id":"p0","msg":"made by its owner"}'],
        [0, 'exchange priv fanout'],
        [1, 'bind priv ~alice.q'],
        [0, 'bind priv ~alice.q'],
        [2, 'bind priv shared'],
        [1, 'route priv k {"id":"r1","msg":"bob cannot see ~alice.q"}'],
        [1, 'exchanges'],
        [0, 'grant ~alice.q bob pub'],
        [1, 'route priv k {"id":"r2","msg":"bob may now"}'],
        [2, 'route priv k {"id":"r3","msg":"carol has no grant"}'],
        [1, 'exchanges'],
        [2, 'exchanges'],
        [1, 'unbind priv ~alice.q'],
        [0, 'bind priv ~alice.q'],
        [0, 'revoke ~alice.q bob'],
        [1, 'route priv k {"id":"r4","msg":"revoked on another node"}'],
        [1, 'exchanges'],
        [0, 'events ~alice.q'],
        [0, 'events shared'],
      ],
    })
    t.ok(single.replies.includes('OK r2 routed to 2 topics'), 'the grantee routes to the private topic')
    t.ok(single.replies.some(r => r.startsWith('ERR FORBIDDEN user carol')), 'a user without a grant is refused')
  })

  await t.test('HTTP and WebSocket: the exchange routes run the cluster handlers', async t => {
    for (const port of rc.masterPorts()) await rc.cli(port, 'FLUSHALL')
    const web = await startBroker({ overrides: { port: 0, host: '127.0.0.1', http: { port: 0, host: '127.0.0.1' }, cluster: { redis: rc.urls } } })
    t.teardown(() => web.stop())
    const base = `http://127.0.0.1:${web.httpAddress!.port}`
    const call = async (method: string, path: string, body?: string): Promise<[number, string]> => {
      const res = await fetch(base + path, { method, body, headers: body === undefined ? {} : { 'content-type': 'application/json' } })
      return [res.status, await res.text()]
    }
    const other = await startNode(t, rc)
    const sub = await other.client()
    t.equal(await sub.request('create web'), 'OK created web')
    t.equal(await sub.request('sub web'), 'OK subscribed to web (max in flight 10)')
    t.same(await call('PUT', '/exchanges/hx', '{"type":"direct"}'), [200, '{"exchange":"hx","type":"direct","created":true}'])
    t.same(await call('PUT', '/exchanges/hx', '{"type":"fanout"}'), [409, '{"error":{"code":"EXCHANGE_TYPE","message":"exchange hx is a direct exchange already; an exchange keeps its type"}}'])
    t.same(await call('POST', '/exchanges/hx/bindings', '{"topic":"web","key":"k"}'), [200, '{"exchange":"hx","topic":"web","key":"k","created":true}'])
    const body = '{"id":"h-1", "msg":"héllo" }'
    t.same(await call('POST', '/exchanges/hx/events?key=k', body), [200, '{"id":"h-1","exchange":"hx","routed":1}'])
    t.equal(masked(await sub.next()), 'EVENT web {"priority":0,"id":"h-1", "msg":"héllo" ,"timestamp":<ts>,"offset":1}', 'delivered on another node, the body byte for byte')
    t.same(await call('POST', '/exchanges/hx/events?key=other&mandatory=1', body), [404, '{"error":{"code":"UNROUTABLE","message":"no binding of exchange hx matches routing key \\"other\\"; nothing was published (mandatory=1)"}}'])
    t.same(await call('GET', '/exchanges'), [200, '[{"name":"hx","type":"direct","bindings":[{"topic":"web","key":"k"}]}]'])

    const ws = new WebSocket(`ws://127.0.0.1:${web.httpAddress!.port}/ws`)
    t.teardown(() => ws.terminate())
    const frames: string[] = []
    ws.on('message', (data: Buffer) => frames.push(data.toString()))
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
    ws.send('route hx k {"id":"w-1","msg":"over a WebSocket"}')
    ws.send('unbind hx web k')
    ws.send('route hx k {"id":"w-2","msg":"nowhere now"}')
    await waitFor(() => frames.length === 3, 'three replies')
    t.same(frames, ['OK w-1 routed to 1 topic', 'OK unbound web from hx with key k', 'OK w-2 routed to 0 topics'])
    t.equal((await sub.event()).event.msg, 'over a WebSocket', 'routed over a WebSocket, delivered on another node')
  })

  await t.test('a route that fails half way: ROUTE_PARTIAL says which topics have the event', async t => {
    for (const port of rc.masterPorts()) await rc.cli(port, 'FLUSHALL')
    await rc.refreshRoles()
    // Which master serves each topic family, and the replica of each master (CLUSTER NODES).
    const lines = (await rc.cli(rc.masterPorts()[0], 'CLUSTER', 'NODES')).trim().split('\n').map(l => l.split(' '))
    const portOf = (f: string[]): number => Number(f[1].split(':')[1].split('@')[0])
    const masters = lines.filter(f => f[2].includes('master'))
    const masterOfSlot = (slot: number): string[] => masters.find(f => f.slice(8).some(r => {
      const [lo, hi] = r.split('-').map(Number)
      return slot >= lo && slot <= (hi ?? lo)
    }))!
    const masterOf = async (topic: string): Promise<string[]> =>
      masterOfSlot(Number(await rc.cli(rc.masterPorts()[0], 'CLUSTER', 'KEYSLOT', `ackline:{${topic}}:t:${topic}:seq`)))
    const xMaster = masterOfSlot(Number(await rc.cli(rc.masterPorts()[0], 'CLUSTER', 'KEYSLOT', 'ackline:{exchanges}:xs')))
    // Two topics on two masters, the second not the exchanges' one (its replica is paused below).
    let first = ''
    let second = ''
    for (let i = 0; second === ''; i++) {
      const name = `half${i}`
      const m = await masterOf(name)
      if (first === '') first = name
      else if (m[0] !== (await masterOf(first))[0] && m[0] !== xMaster[0]) second = name
    }
    const secondMaster = (await masterOf(second))[0]
    const replica = lines.find(f => f[3] === secondMaster)!
    const replicaPid = rc.nodes.find(n => n.port === portOf(replica))!.pid
    const node = await startNode(t, rc, { waitTimeoutMs: 300 })
    const c = await node.client()
    t.equal(await c.request(`create ${first}`), `OK created ${first}`)
    t.equal(await c.request(`create ${second}`), `OK created ${second}`)
    t.equal(await c.request('exchange half fanout'), 'OK exchange half (fanout) declared')
    t.equal(await c.request(`bind half ${first}`), `OK bound ${first} to half`)
    t.equal(await c.request(`bind half ${second}`), `OK bound ${second} to half`)
    let uuidReply = ''
    process.kill(replicaPid, 'SIGSTOP')
    try {
      t.equal(await c.request('route half k {"id":"p-1","msg":1}'),
        `ERR ROUTE_PARTIAL event p-1 reached 1 of 2 topics, not all: published to ${first}; on the master of ${second} but not confirmed by a replica (NOT_REPLICATED); pub it with "id":"p-1" to the topics not published to (pub deduplicates)`)
      uuidReply = await c.request('route half k {"msg":2}')
      t.equal(uuidReply.replace(UUID, '<uuid>'),
        `ERR ROUTE_PARTIAL event <uuid> reached 1 of 2 topics, not all: published to ${first}; on the master of ${second} but not confirmed by a replica (NOT_REPLICATED); pub it with "id":"<uuid>" to the topics not published to (pub deduplicates)`)
    } finally {
      process.kill(replicaPid, 'SIGCONT')
    }
    t.equal(await c.request(`pub ${second} {"id":"p-1","msg":1}`), `OK p-1 duplicate, already published to ${second}`, 'the advice: a pub with the id is a duplicate where it is')
    const uuid = uuidReply.match(UUID)![0]
    t.equal(await c.request(`pub ${second} {"id":"${uuid}","msg":2}`), `OK ${uuid} duplicate, already published to ${second}`, 'also with the UUID the broker made')
    const page = JSON.parse((await c.request(`events ${first}`)).slice(3)) as { events: Array<{ id: string }> }
    t.same(page.events.map(e => e.id).slice(0, 1), ['p-1'])
  })

  await t.test('two routes racing for the last queue slots: every reply says exactly which topics got the event', async t => {
    for (const port of rc.masterPorts()) await rc.cli(port, 'FLUSHALL')
    const opts = { maxPendingPerSubscriber: 1 }
    const [a, b, c] = [await startNode(t, rc, {}, opts), await startNode(t, rc, {}, opts), await startNode(t, rc, {}, opts)]
    const admin = await a.client()
    const reader = await c.client()
    const r1 = await a.client()
    const r2 = await b.client()
    const rounds = 12
    const topics = ['ra', 'rb', 'rc']
    const seen = new Set<string>()
    for (let i = 0; i < rounds; i++) {
      const names = topics.map(x => `${x}${i}`)
      t.equal(await admin.request(`exchange race${i} fanout`), `OK exchange race${i} (fanout) declared`)
      for (const n of names) {
        await admin.request(`create ${n}`)
        await admin.request(`bind race${i} ${n}`)
        t.equal(await reader.request(`sub ${n} 1`), `OK subscribed to ${n} (max in flight 1)`)
      }
      // Each topic takes one event (its subscriber's bound): the two routes race for them.
      r1.send(`route race${i} k {"id":"x${i}","msg":1}`)
      r2.send(`route race${i} k {"id":"y${i}","msg":2}`)
      const replies = [await r1.reply(), await r2.reply()]
      const holder = new Map<string, string>()
      for (const n of names) {
        const page = JSON.parse((await admin.request(`events ${n}`)).slice(3)) as { events: Array<{ id: string }> }
        t.equal(page.events.length, 1, `${n} took exactly one event`)
        holder.set(n, page.events[0].id)
      }
      for (const [k, reply] of replies.entries()) {
        const id = `${k === 0 ? 'x' : 'y'}${i}`
        const has = names.filter(n => holder.get(n) === id)
        if (reply === `OK ${id} routed to 3 topics`) {
          seen.add('OK')
          t.same(has, names, `${reply}: in every topic`)
        } else if (reply.startsWith('ERR QUEUE_FULL ')) {
          seen.add('QUEUE_FULL')
          t.same(has, [], `${reply}: in no topic`)
        } else {
          seen.add('ROUTE_PARTIAL')
          const m = /^ERR ROUTE_PARTIAL event (\S+) reached (\d) of 3 topics, not all: published to ([^;]+)((?:; not published to \S+ \(QUEUE_FULL\))+); pub it with "id":"\1" to the topics not published to \(pub deduplicates\)$/.exec(reply)
          t.ok(m, `a partial route is described: ${reply}`)
          if (m === null) continue
          const published = m[3].split(', ')
          const refused = [...m[4].matchAll(/not published to (\S+) /g)].map(x => x[1])
          t.equal(Number(m[2]), published.length)
          t.same([...published].sort(), [...has].sort(), 'published to: exactly the topics that have it')
          t.same([...refused].sort(), names.filter(n => !has.includes(n)).sort(), 'not published to: exactly the others')
        }
      }
      for (let k = 0; k < 3; k++) await reader.next()
    }
    t.comment(`outcomes seen over ${rounds} rounds: ${[...seen].join(', ')}`)
  })
})
