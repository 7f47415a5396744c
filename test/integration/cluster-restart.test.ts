import t from 'tap'
import { LineClient } from '../helpers/broker'
import { startRedisCluster } from '../helpers/redisCluster'
import { type AcklineNode, FAST_EXPIRY, processTestSkip, startAcklineNode } from '../helpers/acklineCluster'

// Cluster mode (#16): a restart of everything, with real processes: Ackline nodes started by
// `node dist/cli.js start --cluster …` on a 3-master + 3-replica Redis Cluster with AOF
// (appendfsync always), then every Redis server and every node killed with kill -9 and started again.
const skip = processTestSkip

t.test('restart of the whole cluster (Redis with AOF fsync always, every Ackline node): topics, named subscriptions and pending events come back', { skip }, async (t) => {
  const rc = await startRedisCluster(t, { appendonly: 'always' })
  let nodes: AcklineNode[] = [await startAcklineNode(t, rc, FAST_EXPIRY), await startAcklineNode(t, rc, FAST_EXPIRY)]
  const pubc = await LineClient.connect(nodes[0].port)
  t.teardown(() => pubc.destroy())
  t.match(await pubc.request('create rs-empty'), /^OK created rs-empty/)
  t.match(await pubc.request('create rs-jobs'), /^OK created rs-jobs/)

  const w = await LineClient.connect(nodes[1].port)
  t.teardown(() => w.destroy())
  t.equal(await w.request('name keeper'), 'OK named keeper')
  t.match(await w.request('sub rs-jobs 3'), /^OK subscribed to rs-jobs/)
  const bodies: string[] = []
  for (let i = 1; i <= 10; i++) {
    const body = `{"id":"j${i}","msg":"job ${i} ✓ \\u00e9","n":${i}}`
    bodies.push(body)
    t.match(await pubc.request(`pub rs-jobs ${body}`), new RegExp(`^OK j${i} published to rs-jobs \\(1 subscriber\\)`))
  }
  const first = [await w.event(), await w.event(), await w.event()]
  t.same(first.map(e => e.event.id), ['j1', 'j2', 'j3'], 'three in flight (cap 3)')
  t.equal(await w.request('ack rs-jobs j1'), 'OK acked j1 on rs-jobs')
  await w.event() // j4 takes j1's slot
  // in flight and unacked: j2, j3, j4; waiting: j5…j10

  for (const n of nodes) await n.kill()
  await rc.restart({ hard: true }) // every redis-server kill -9'd: only what AOF fsynced survives
  nodes = [await startAcklineNode(t, rc, FAST_EXPIRY), await startAcklineNode(t, rc, FAST_EXPIRY)] // fresh log dirs: state is in Redis

  const c = await LineClient.connect(nodes[1].port)
  t.teardown(() => c.destroy())
  const topics = JSON.parse((await c.request('topics')).slice(3)) as Array<{ topic: string, subscribers: number, pending: number }>
  t.same(topics.map(x => x.topic), ['rs-empty', 'rs-jobs'], 'both topics are back')
  t.match(topics.find(x => x.topic === 'rs-jobs'), { subscribers: 1, pending: 9 }, 'the named subscription and its 9 unacked events are back')

  const k = await LineClient.connect(nodes[0].port)
  t.teardown(() => k.destroy())
  const deadline = Date.now() + 30_000
  for (;;) { // the killed node's lease on the name expires after nodeTtlMs
    const r = await k.request('name keeper')
    if (r === 'OK named keeper') break
    t.match(r, /NAME_IN_USE/)
    if (Date.now() > deadline) throw new Error('name keeper still in use after 30 s')
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  t.match(await k.request('sub rs-jobs'), /^OK subscribed to rs-jobs \(max in flight 3, resumed with 9 pending\)/)
  // acks go out as events arrive (the cap is 3), so their replies interleave with the next events
  const got: Array<{ id: unknown, deliveries: unknown }> = []
  let acks = 0
  while (got.length < 9 || acks < 9) {
    const line = await k.next(10_000)
    const m = /^EVENT rs-jobs (.*)$/.exec(line)
    if (m === null) {
      t.match(line, /^OK acked j\d+ on rs-jobs$/)
      acks++
      continue
    }
    const ev = JSON.parse(m[1]) as { id: string, n: number, deliveries?: number }
    t.ok(m[1].includes(bodies[ev.n - 1].slice(1, -1)), `${ev.id}: payload byte for byte`)
    got.push({ id: ev.id, deliveries: ev.deliveries })
    k.send(`ack rs-jobs ${ev.id}`)
  }
  t.same(got.slice(0, 3), [{ id: 'j2', deliveries: 2 }, { id: 'j3', deliveries: 2 }, { id: 'j4', deliveries: 2 }], 'the unacked in-flight events first, deliveries incremented')
  t.same(got.slice(3).map(e => e.id), ['j5', 'j6', 'j7', 'j8', 'j9', 'j10'], 'then the waiting ones, in order')
  t.same(got.slice(3).map(e => e.deliveries), [undefined, undefined, undefined, undefined, undefined, undefined])
  t.ok(await k.quiet(300), 'nothing more: j1 was acked before the restart')
})
