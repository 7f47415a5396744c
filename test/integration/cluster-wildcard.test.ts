import t, { type Test } from 'tap'
import { testHash } from '../helpers/auth'
import { startNode } from '../helpers/clusterBroker'
import { sameAsOneNode, type Step } from '../helpers/clusterCompare'
import { hasRedis, skipReason, startRedisCluster } from '../helpers/redisCluster'
import type { ConfigOverrides } from '../../src/config/loadConfig'
import { PATTERNS_KEY } from '../../src/cluster/keys'

// Wildcard subscriptions in cluster mode (docs/cluster.md#wildcard-subscriptions): a pattern covers the
// matching topics of the whole cluster, also those made later on other nodes, with the single-node replies and
// events. Scenarios run on one node and on three cluster nodes (clients spread over them), every line compared.

t.test('wildcard subscriptions in cluster mode', { skip: hasRedis() ? false : skipReason }, async t => {
  const rc = await startRedisCluster(t)
  const same = async (t: Test, config: ConfigOverrides, steps: Step[], logins?: Record<string, string>) => await sameAsOneNode(t, rc, config, steps, logins)

  await t.test('topics made on other nodes, before and after the sub; * and #; one cap across topics', async t => {
    await same(t, {}, [
      ['a', 'pub orders.eu {"msg":"create"}'],
      ['b', 'sub orders.* 1'],
      ['c', 'pub orders.us {"id":"u-1","msg":"made after the sub, on another node"}'],
      ['b', null],
      ['a', 'pub orders.eu {"id":"e-1","msg":"waits: one slot across every topic"}'],
      ['c', 'pub orders.eu.paid {"id":"p-1","msg":"three words: not orders.*"}'],
      ['b', 'ack orders.us u-1'],
      ['b', null],
      ['b', 'ack orders.eu e-1'],
      ['e', 'sub orders.# 2'],
      ['c', 'create orders'],
      ['a', 'pub orders {"id":"o-1","msg":"orders.# covers orders"}'],
      ['e', null],
      ['b', 'sub orders.*'],
      ['b', 'sub orders.us'],
      ['b', 'sub orders.* to=5'],
      ['b', 'sub orders.# group=g'],
      ['b', 'sub orders.# ack=none'],
      ['b', 'sub orders.*.x*'],
      ['b', 'unsub nothing.*'],
      ['b', 'unsub orders.*'],
    ])
  })

  await t.test('from= applies to the topics there are; the cap holds across topics of different nodes\' slots', async t => {
    const a = await startNode(t, rc)
    const b = await startNode(t, rc)
    const pub = await b.client()
    for (const topic of ['fr.a', 'fr.b', 'fr.c']) {
      await pub.request(`pub ${topic} {"id":"${topic}-1","msg":1}`)
      await pub.request(`pub ${topic} {"id":"${topic}-2","msg":2}`)
    }
    const sub = await a.client()
    t.equal(await sub.request('sub fr.* 2 from=beginning'), 'OK subscribed to fr.* (max in flight 2, 3 topics now)')
    const got: string[] = []
    for (let i = 0; i < 2; i++) got.push(String((await sub.event()).event.id))
    t.ok(await sub.quiet(300), 'two in flight across the three topics, no more')
    for (let i = 0; i < 4; i++) {
      // Each ack frees one slot: one more event, never two in flight beyond the cap.
      t.match(await sub.request(`ack ${got[i].slice(0, 4)} ${got[i]}`), /^OK acked /)
      got.push(String((await sub.event()).event.id))
      t.ok(await sub.quiet(50), 'one event per freed slot')
    }
    t.same([...got].sort(), ['fr.a-1', 'fr.a-2', 'fr.b-1', 'fr.b-2', 'fr.c-1', 'fr.c-2'], 'every retained event once')
    for (const topic of ['fr.a', 'fr.b', 'fr.c']) t.ok(got.indexOf(`${topic}-1`) < got.indexOf(`${topic}-2`), `${topic} in offset order`)
  })

  await t.test('a member left with unsub <topic> stays out; a deleted topic made again joins again', async t => {
    await same(t, {}, [
      ['a', 'create logs.app'],
      ['a', 'create logs.db'],
      ['b', 'sub logs.* 5'],
      ['b', 'unsub logs.db'],
      ['c', 'pub logs.db {"id":"d1","msg":"not for b"}'],
      ['c', 'pub logs.app {"id":"a1","msg":"for b"}'],
      ['b', null],
      ['c', 'delete logs.app'],
      ['b', null],
      ['c', 'pub logs.app {"id":"a2","msg":"made again"}'],
      ['b', null],
      ['b', 'sub logs.db'],
      ['c', 'pub logs.db {"id":"d2","msg":"direct"}'],
      ['b', null],
      ['b', 'unsub logs.*'],
      ['c', 'pub logs.app {"id":"a3","msg":"nobody"}'],
      ['c', 'pub logs.new {"id":"n1","msg":"nobody"}'],
    ])
  })

  await t.test('ACLs per concrete topic: patterns, private topics, grants; revoke ends a member', async t => {
    const users = {
      alice: { passwordHash: testHash('alice-pw-1'), publish: ['*'], subscribe: ['*'] },
      bob: { passwordHash: testHash('bob-pw-1'), publish: ['*'], subscribe: ['feed.eu'] },
    }
    await same(t, { auth: { required: true, users } }, [
      ['a', 'pub feed.eu {"msg":1}'],
      ['a', 'pub feed.us {"msg":1}'],
      ['b', 'sub feed.*'],
      ['c', 'sub ~alice.#'],
      ['a', 'pub feed.us {"id":"us","msg":"bob may not read feed.us"}'],
      ['a', 'pub feed.eu {"id":"eu","msg":"bob may"}'],
      ['b', null],
      ['a', 'pub ~alice.box {"id":"x1","msg":"alice\'s own, new"}'],
      ['d', 'sub ~alice.*'],
      ['a', 'grant ~alice.shared bob sub'],
      ['a', 'pub ~alice.shared {"id":"s1","msg":"granted after the topic was made"}'],
      ['c', 'sub ~alice.shared'],
      ['a', 'pub ~alice.shared {"id":"s2","msg":"direct"}'],
      ['c', null],
      ['a', 'revoke ~alice.shared bob'],
      ['a', 'grant ~alice.w bob sub'],
      ['f', 'sub *.w'],
      ['a', 'pub ~alice.w {"id":"w1","msg":"to the member"}'],
      ['f', null],
      ['f', 'ack ~alice.w w1'],
      ['a', 'revoke ~alice.w bob'],
      ['a', 'pub ~alice.w {"id":"w2","msg":"after the revoke"}'],
      ['f', 'ping'],
    ], { a: 'alice', b: 'bob', c: 'bob', d: 'alice', f: 'bob' })
  })

  await t.test('the node that makes a topic adds the members before its first event; a closed connection leaves the registry', async t => {
    // No periodic pull within the test: the event can only come through the announcement of the new topic.
    const a = await startNode(t, rc, { pullIntervalMs: 60000 })
    const b = await startNode(t, rc, { pullIntervalMs: 60000 })
    const sub = await a.client()
    t.equal(await sub.request('sub reg.*'), 'OK subscribed to reg.* (max in flight 10, 0 topics now)')
    const pub = await b.client()
    t.equal(await pub.request('pub reg.one {"id":"r1","msg":1}'), 'OK r1 published to reg.one (1 subscriber)', 'counted at once')
    t.equal((await sub.event(2000)).event.id, 'r1', 'delivered on the announcement')
    const redis = a.broker.cluster!.store.redis
    t.equal(Object.keys(await redis.hgetall(PATTERNS_KEY)).filter(f => f.endsWith(' reg.*')).length, 1, 'registered')
    sub.destroy()
    for (let i = 0; i < 50 && Object.keys(await redis.hgetall(PATTERNS_KEY)).some(f => f.endsWith(' reg.*')); i++) await new Promise(resolve => setTimeout(resolve, 20))
    t.notOk(Object.keys(await redis.hgetall(PATTERNS_KEY)).some(f => f.endsWith(' reg.*')), 'gone with its connection')
    t.equal(await pub.request('pub reg.two {"msg":2}'), 'OK 1 published to reg.two (0 subscribers)')
  })

  await t.test('a node that missed the announcement joins the new topic at its periodic pull, from its first event', async t => {
    // No timer within the test: the periodic scan is run by hand once the topic is made.
    const a = await startNode(t, rc, { pullIntervalMs: 60000 })
    const b = await startNode(t, rc, { pullIntervalMs: 60000 })
    const sub = await a.client()
    await sub.request('sub late.* 5')
    // As if the creating node had not seen the registry entry (it was made while the topic was being made).
    const redis = a.broker.cluster!.store.redis
    const field = Object.keys(await redis.hgetall(PATTERNS_KEY)).find(f => f.endsWith(' late.*'))!
    const value = await redis.hget(PATTERNS_KEY, field)
    await redis.hdel(PATTERNS_KEY, field)
    const pub = await b.client()
    t.equal(await pub.request('pub late.x {"id":"l1","msg":1}'), 'OK l1 published to late.x (0 subscribers)')
    await pub.request('pub late.x {"id":"l2","msg":2}')
    await redis.hset(PATTERNS_KEY, field, value!)
    t.ok(await sub.quiet(200), 'not joined yet')
    a.broker.cluster!.wildcards.scan() // what the pullIntervalMs timer runs
    t.same([(await sub.event(3000)).event.id, (await sub.event()).event.id], ['l1', 'l2'], 'both, from the topic\'s first event')
  })

  await t.test('a dead node\'s wildcard subscriptions leave the registry (reaper)', async t => {
    const a = await startNode(t, rc, { nodeTtlMs: 300, reapIntervalMs: 50 })
    const b = await startNode(t, rc, { nodeTtlMs: 300, reapIntervalMs: 50 })
    const sub = await a.client()
    await sub.request('sub dead.*')
    const redis = b.broker.cluster!.store.redis
    t.ok(Object.keys(await redis.hgetall(PATTERNS_KEY)).some(f => f.endsWith(' dead.*')))
    await a.crash()
    const until = Date.now() + 5000
    while (Date.now() < until && Object.keys(await redis.hgetall(PATTERNS_KEY)).some(f => f.endsWith(' dead.*'))) await new Promise(resolve => setTimeout(resolve, 50))
    t.notOk(Object.keys(await redis.hgetall(PATTERNS_KEY)).some(f => f.endsWith(' dead.*')), 'reaped')
    t.equal(await (await b.client()).request('pub dead.x {"msg":1}'), 'OK 1 published to dead.x (0 subscribers)')
  })
})
