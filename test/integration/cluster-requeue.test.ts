import t, { type Test } from 'tap'
import { testHash } from '../helpers/auth'
import { startNode, type TestNode } from '../helpers/clusterBroker'
import { sameAsOneNode, type Step } from '../helpers/clusterCompare'
import { hasRedis, skipReason, startRedisCluster } from '../helpers/redisCluster'
import type { ConfigOverrides } from '../../src/config/loadConfig'

// `requeue` in cluster mode (docs/cluster.md#requeue): dead letters back to their topic, with the single-node
// replies and events. Each scenario runs on one node and on three cluster nodes (its clients spread over them),
// and every line is compared. One real Redis Cluster, clients on real sockets.

t.test('requeue in cluster mode', { skip: hasRedis() ? false : skipReason }, async t => {
  const rc = await startRedisCluster(t)

  const same = async (t: Test, config: ConfigOverrides, steps: Step[], logins?: Record<string, string>) => await sameAsOneNode(t, rc, config, steps, logins)

  await t.test('the protocol.md example and its errors, publisher and subscriber on different nodes', async t => {
    await same(t, { maxDeliveries: 1 }, [
      ['a', 'pub jobs {"msg":"create the topic"}'],
      ['b', 'sub jobs'],
      ['a', 'pub jobs {"id":"j1","priority":3,"msg":"resize","trace":"t-7"}'],
      ['b', null],
      ['b', 'nack jobs j1'],
      ['a', 'pub jobs {"id":"j2","msg":"crop"}'],
      ['b', null],
      ['b', 'nack jobs j2'],
      ['c', 'pub jobs {"id":"j3","msg" : { "odd" : [1, 2.50] } ,"note":"ünïcödé"}'],
      ['b', null],
      ['b', 'nack jobs j3'],
      ['a', 'requeue jobs'],
      ['a', 'requeue .dlq'],
      ['a', 'requeue nosuch.dlq'],
      ['a', 'requeue jobs.dlq 9'],
      ['c', 'requeue jobs.dlq 2'],
      ['b', null],
      ['a', 'requeue jobs.dlq 2'],
      ['a', 'requeue jobs.dlq'],
      ['b', null],
      ['c', 'requeue jobs.dlq all'],
      ['b', null],
      ['a', 'requeue jobs.dlq'],
      ['a', 'requeue jobs.dlq all'],
    ])
  })

  await t.test('requeueMaxEvents at its edge: at most that many per requeue, the reply says how many are left', async t => {
    const steps: Step[] = [['a', 'create lim'], ['b', 'sub lim 10']]
    for (let i = 1; i <= 3; i++) steps.push(['a', `pub lim {"id":"l${i}","msg":${i}}`], ['b', null], ['b', `nack lim l${i}`])
    steps.push(['c', 'requeue lim.dlq all'], ['b', null], ['b', null], ['c', 'requeue lim.dlq all'], ['b', null], ['c', 'requeue lim.dlq all'])
    await same(t, { maxDeliveries: 1, requeueMaxEvents: 2 }, steps)
  })

  await t.test('refusals name the dead letter and what went before it: DUPLICATE_ID, QUEUE_FULL, FORBIDDEN', async t => {
    // d holds d2 unacked while b's copy is dead-lettered: its original id is pending again.
    await same(t, { maxDeliveries: 1 }, [
      ['a', 'create dup'],
      ['b', 'sub dup 10'],
      ['d', 'sub dup 10'],
      ['a', 'pub dup {"id":"d1","msg":1}'], ['b', null], ['d', null], ['b', 'nack dup d1'],
      ['a', 'pub dup {"id":"d2","msg":2}'], ['b', null], ['d', null], ['b', 'nack dup d2'],
      ['d', 'ack dup d1'],
      ['c', 'requeue dup.dlq all'], ['b', null], ['d', null],
      ['c', 'requeue dup.dlq all'],
      ['c', 'requeue dup.dlq 2'],
      ['d', 'ack dup d2 d1'],
      ['c', 'requeue dup.dlq all'], ['b', null], ['d', null],
    ])
    await same(t, { maxDeliveries: 1, maxPendingPerSubscriber: 2 }, [
      ['a', 'create full'],
      ['b', 'sub full 1'],
      ['a', 'pub full {"id":"f1","msg":1}'], ['b', null], ['b', 'nack full f1'],
      ['a', 'pub full {"id":"f2","msg":2}'], ['b', null],
      ['a', 'pub full {"id":"f3","msg":3}'],
      ['c', 'requeue full.dlq'],
      ['b', 'ack full f2'], ['b', null],
      ['c', 'requeue full.dlq'], ['b', 'ack full f3'], ['b', null],
    ])
    const users = {
      ops: { passwordHash: testHash('ops-pw-1'), publish: ['sec.dlq'], subscribe: ['sec.dlq'] },
      app: { passwordHash: testHash('app-pw-1'), publish: ['sec', 'sec.dlq'], subscribe: ['sec'] },
    }
    await same(t, { maxDeliveries: 1, auth: { required: true, users } }, [
      ['a', 'pub sec {"id":"s1","msg":1}'],
      ['b', 'sub sec'],
      ['a', 'pub sec {"id":"s2","msg":2}'], ['b', null], ['b', 'nack sec s2'],
      ['c', 'requeue sec.dlq'],
      ['c', 'requeue sec'],
      ['a', 'requeue sec.dlq all'], ['b', null],
    ], { a: 'app', b: 'app', c: 'ops' })
  })

  await t.test('a dead letter in flight to its reader on another node: requeue takes it back from there', async t => {
    const { clients } = await same(t, { maxDeliveries: 1 }, [
      ['a', 'create fl'],
      ['b', 'sub fl'],
      ['a', 'pub fl {"id":"x1","msg":1}'], ['b', null], ['b', 'nack fl x1'],
      ['c', 'name dead-letters'],
      ['c', 'sub fl.dlq'],
      ['c', null],
      ['a', 'requeue fl.dlq 1'], ['b', null],
      ['c', 'ack fl.dlq 1'],
      ['a', 'requeue fl.dlq'],
    ])
    t.ok(await clients.get('c')!.quiet(200), 'the reader is not given it again')
  })

  await t.test('an event published to a .dlq topic by hand is no dead letter: the ones before it move', async t => {
    await same(t, { maxDeliveries: 1 }, [
      ['a', 'create hand'],
      ['b', 'sub hand'],
      ['a', 'pub hand {"id":"h1","msg":1}'], ['b', null], ['b', 'nack hand h1'],
      ['c', 'pub hand.dlq {"msg":2}'],
      ['a', 'requeue hand.dlq all'], ['b', null],
      ['a', 'requeue hand.dlq all'],
      ['a', 'ping'],
    ])
  })

  await t.test('two nodes requeueing the same dead letters at once move each exactly once', async t => {
    const nodes: TestNode[] = []
    for (let i = 0; i < 3; i++) nodes.push(await startNode(t, rc, {}, { maxDeliveries: 1 }))
    const pub = await nodes[0].client()
    const sub = await nodes[1].client()
    await pub.request('create race')
    await sub.request('sub race 100')
    const n = 40
    for (let i = 1; i <= n; i++) {
      await pub.request(`pub race {"id":"r${i}","msg":${i}}`)
      await sub.event()
      await sub.request(`nack race r${i}`)
    }
    const x = await nodes[0].client()
    const y = await nodes[2].client()
    const replies = await Promise.all([x.request('requeue race.dlq all'), y.request('requeue race.dlq all'), x.request('requeue race.dlq'), y.request('requeue race.dlq 7')])
    let moved = 0
    for (const r of replies) {
      const m = /^OK requeued (\d+) dead letters? from race\.dlq/.exec(r) ?? /^OK requeued dead letter \S+ from race\.dlq/.exec(r)
      if (m !== null) moved += m[1] === undefined ? 1 : Number(m[1])
      else t.match(r, /^ERR NO_DEAD_LETTER /)
    }
    t.equal(moved, n, `every dead letter moved once (${replies.join(' | ')})`)
    const ids = new Set<string>()
    for (let i = 0; i < n; i++) ids.add(String((await sub.event()).event.id))
    t.equal(ids.size, n, 'each delivered again once')
    t.ok(await sub.quiet(300), 'and no more')
    t.equal(await x.request('requeue race.dlq all'), 'OK requeued 0 dead letters from race.dlq (0 left)')
  })
})
