import t from 'tap'
import type { LineClient } from '../helpers/broker'
import { startNode } from '../helpers/clusterBroker'
import { hasRedis, skipReason, startRedisCluster } from '../helpers/redisCluster'

// Cluster mode when a node dies (docs/cluster.md#liveness): its clients' names are free once its lease
// expires, a named subscriber resumes elsewhere with what it had not acked, the survivors enforce its
// deliveries' ack timeouts and end what its anonymous clients and group members left. A node "dies"
// in-process: its Redis connections drop with nothing released (TestNode.crash), as with kill -9.

/** Repeats `line` until the reply is `want` (e.g. a name whose lease must expire first). */
async function until (c: LineClient, line: string, want: string, waitMs = 8000): Promise<string> {
  const deadline = Date.now() + waitMs
  let reply = await c.request(line)
  while (reply !== want && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 50))
    reply = await c.request(line)
  }
  return reply
}

const ttl = { nodeTtlMs: 1000 }

t.test('cluster liveness', { skip: hasRedis() ? false : skipReason }, async t => {
  const rc = await startRedisCluster(t)
  const a = await startNode(t, rc, ttl)

  await t.test('a named subscriber whose node died resumes on another node; its unacked events go first', async t => {
    const c = await startNode(t, rc, ttl)
    const pub = await a.client()
    await pub.request('create work')
    const w = await c.client()
    t.equal(await w.request('name w1'), 'OK named w1')
    t.equal(await w.request('sub work 2 60000'), 'OK subscribed to work (max in flight 2)')
    for (const id of ['e1', 'e2', 'e3']) await pub.request(`pub work {"id":"${id}","msg":0}`)
    t.equal((await w.event()).event.id, 'e1')
    t.equal((await w.event()).event.id, 'e2')
    await c.crash()

    const w2 = await a.client()
    t.equal(await w2.request('name w1'), 'ERR NAME_IN_USE name w1 is held by another live connection', 'the dead node\'s lease still runs')
    t.equal(await until(w2, 'name w1', 'OK named w1'), 'OK named w1', 'free once the lease expires')
    t.equal(await w2.request('sub work'), 'OK subscribed to work (max in flight 2, resumed with 3 pending)')
    const got = [await w2.event(), await w2.event()]
    t.same(got.map(e => [e.event.id, e.event.deliveries]), [['e1', 2], ['e2', 2]], 'redelivered first, deliveries incremented')
    t.equal(await w2.request('ack work e1 e2'), 'OK acked 2 on work')
    const third = await w2.event()
    t.same([third.event.id, third.event.deliveries], ['e3', undefined])
  })

  await t.test('the survivors enforce a dead node\'s ack timeouts', async t => {
    const c = await startNode(t, rc, { nodeTtlMs: 30000 })
    const pub = await a.client()
    await pub.request('create timed')
    const w = await c.client()
    await w.request('name w2')
    t.equal(await w.request('sub timed 5 300'), 'OK subscribed to timed (max in flight 5)')
    await pub.request('pub timed {"id":"t1","msg":0}')
    t.equal((await w.event()).event.id, 't1')
    await c.crash()
    // Only node A is left to reap; after the deadline the event is owed again (pending, not in flight).
    await new Promise(resolve => setTimeout(resolve, 1000))
    const topics = JSON.parse((await pub.request('topics')).slice(3)) as Array<Record<string, unknown>>
    t.match(topics.find(x => x.topic === 'timed'), { subscribers: 1, pending: 1 })
    const redis = a.broker.cluster!.store.redis
    t.equal(await redis.zcard('ackline:{timed}:t:timed:s:n:w2:if'), 0, 'no longer in flight')
    t.equal(await redis.zcard('ackline:{timed}:t:timed:s:n:w2:q'), 1, 'back in the queue')
  })

  await t.test('a dead node\'s anonymous subscriptions are ended by the reaper', async t => {
    const c = await startNode(t, rc, ttl)
    const pub = await a.client()
    await pub.request('create anon')
    const s = await c.client()
    await s.request('sub anon')
    t.match(await pub.request('pub anon {"msg":1}'), /\(1 subscriber\)$/)
    await c.crash()
    let reply = ''
    const deadline = Date.now() + 8000
    while (Date.now() < deadline) {
      reply = await pub.request('pub anon {"msg":2}')
      if (reply.endsWith('(0 subscribers)')) break
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    t.match(reply, /\(0 subscribers\)$/, 'gone once the node\'s heartbeat expired')
  })

  await t.test('a clean stop frees its names and subscriptions at once', async t => {
    const c = await startNode(t, rc, { nodeTtlMs: 60000 })
    const pub = await a.client()
    await pub.request('create clean')
    const s = await c.client()
    await s.request('name w3')
    await s.request('sub clean')
    const anon = await c.client()
    await anon.request('sub clean')
    await c.stop()
    const w = await a.client()
    t.equal(await w.request('name w3'), 'OK named w3', 'no lease to wait for')
    t.equal(await pub.request('pub clean {"msg":1}'), 'OK 1 published to clean (1 subscriber)', 'the named subscription stays, the anonymous one ended')
  })

  await t.test('a subscribed connection is never idle-closed; an unsubscribed one is', async t => {
    const idle = await startNode(t, rc, {}, { idleTimeoutMs: 200 })
    const pub = await a.client()
    await pub.request('create idle')
    const sub = await idle.client()
    const quiet = await idle.client()
    t.equal(await sub.request('sub idle'), 'OK subscribed to idle (max in flight 10)')
    t.equal(await quiet.next(2000), 'ERR IDLE_TIMEOUT no input for 200 ms (idleTimeoutMs) and no subscriptions; closing the connection')
    await quiet.closedByPeer()
    await pub.request('pub idle {"id":"i1","msg":1}')
    t.equal((await sub.event()).event.id, 'i1', 'still connected and delivered to')
    t.equal(await sub.request('unsub idle'), 'OK unsubscribed from idle (1 unacked event dropped)')
    t.equal(await sub.next(2000), 'ERR IDLE_TIMEOUT no input for 200 ms (idleTimeoutMs) and no subscriptions; closing the connection')
  })

  await t.test('a node that lost Redis answers CLUSTER_UNAVAILABLE and stays usable', async t => {
    const cut = await startNode(t, rc, { commandTimeoutMs: 300 })
    const c = await cut.client()
    t.equal(await c.request('create cut'), 'OK created cut')
    cut.broker.cluster!.store.redis.disconnect()
    t.match(await c.request('pub cut {"id":"u1","msg":1}'), /^ERR CLUSTER_UNAVAILABLE the Redis Cluster did not answer \(".+"\); the command may or may not have been applied: retry it \(a pub with an id is deduplicated\)$/)
    t.equal(await c.request('ping'), 'OK PONG', 'the connection stays usable')
  })

  await t.test('WAIT: fewer replicas than cluster.waitReplicas within the timeout is NOT_REPLICATED', async t => {
    const strict = await startNode(t, rc, { waitReplicas: 2, waitTimeoutMs: 100 })
    const sub = await a.client()
    await sub.request('create strict')
    await sub.request('sub strict')
    const pub = await strict.client()
    t.equal(await pub.request('pub strict {"id":"s1","msg":1}'),
      'ERR NOT_REPLICATED applied on the Redis master, but 1 of 2 replicas confirmed within 100 ms (cluster.waitReplicas); it may still be delivered, and a failover now could lose it')
    t.equal((await sub.event()).event.id, 's1', 'applied on the master: delivered')
    const unconfirmed = await startNode(t, rc, { waitReplicas: 0 })
    const p0 = await unconfirmed.client()
    t.equal(await p0.request('pub strict {"id":"s2","msg":1}'), 'OK s2 published to strict (1 subscriber)', 'waitReplicas 0: no WAIT')
  })
})
