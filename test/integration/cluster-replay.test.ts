import t from 'tap'
import { startNode } from '../helpers/clusterBroker'
import { hasRedis, skipReason, startRedisCluster } from '../helpers/redisCluster'

// Replay, retention and stats in cluster mode (docs/cluster.md#what-cluster-mode-supports).

t.test('cluster replay, retention, stats', { skip: hasRedis() ? false : skipReason }, async t => {
  const rc = await startRedisCluster(t)
  // Retention of 400 ms on `short.*` topics only; a reaper sweep every 50 ms.
  const a = await startNode(t, rc, { reapIntervalMs: 50 }, { retention: { overrides: [{ pattern: 'short.*', maxAgeMs: 400 }] } })
  const b = await startNode(t, rc)

  await t.test('from= replays the retained events on a new subscription, on any node', async t => {
    const pub = await a.client()
    for (let i = 1; i <= 4; i++) await pub.request(`pub replay {"id":"r${i}","priority":${i === 3 ? 9 : 0},"msg":${i}}`)
    const ids = async (c: Awaited<ReturnType<typeof b.client>>, n: number): Promise<unknown[]> => {
      const out: unknown[] = []
      for (let i = 0; i < n; i++) out.push((await c.event()).event.id)
      return out
    }
    const all = await b.client()
    t.equal(await all.request('sub replay from=beginning'), 'OK subscribed to replay (max in flight 10)')
    t.same(await ids(all, 4), ['r3', 'r1', 'r2', 'r4'], 'every retained event, by priority then offset')
    const fromTwo = await b.client()
    await fromTwo.request('sub replay from=2')
    t.same(await ids(fromTwo, 3), ['r3', 'r2', 'r4'])
    const latest = await a.client()
    await latest.request('sub replay from=latest')
    t.same(await ids(latest, 1), ['r4'])
    t.ok(await latest.quiet(200), 'nothing older')
    const byTime = await a.client()
    await byTime.request(`sub replay from=time:${Date.now() + 60000}`)
    t.ok(await byTime.quiet(200), 'a time after every event: new events only')
    await pub.request('pub replay {"id":"r5","msg":5}')
    t.same(await ids(byTime, 1), ['r5'])
    t.same(await ids(all, 1), ['r5'])
    const named = await b.client()
    await named.request('name replayer')
    await named.request('sub replay 1 from=beginning')
    t.same(await ids(named, 1), ['r3'])
  })

  await t.test('events: a read-only page of the retained events, from any node', async t => {
    const c = await a.client()
    const page = JSON.parse((await c.request('events replay from=2 limit=2')).slice(3)) as { from: number, next: number, lastOffset: number, events: Array<{ id: string }> }
    t.match(page, { from: 2, next: 4, lastOffset: 5 })
    t.same(page.events.map(e => e.id), ['r2', 'r3'], 'in offset order')
    const rest = await (await b.client()).request('events replay from=4')
    t.match(rest, /^OK \{"topic":"replay","from":4,"next":6,"lastOffset":5,"events":\[\{"id":"r4","priority":0,"msg":4,"timestamp":\d+,"offset":4\},\{.*"offset":5\}\]\}$/)
    t.equal(await c.request('events nosuch'), 'ERR UNKNOWN_TOPIC topic nosuch does not exist')
  })

  await t.test('to= ranges: END <topic> <to> once the range is acked, for a named client too', async t => {
    const pub = await a.client()
    for (let i = 1; i <= 3; i++) await pub.request(`pub range {"id":"g${i}","msg":${i}}`)
    const c = await b.client()
    await c.request('name ranger')
    t.equal(await c.request('sub range from=2 to=4'), 'OK subscribed to range (max in flight 10)')
    t.same([(await c.event()).event.id, (await c.event()).event.id], ['g2', 'g3'])
    t.equal(await c.request('ack range g2 g3'), 'OK acked 2 on range')
    t.ok(await c.quiet(200), 'a range past the end waits for its events')
    await pub.request('pub range {"id":"g4","msg":4}')
    await pub.request('pub range {"id":"g5","msg":5}')
    t.equal((await c.event()).event.id, 'g4')
    t.equal(await c.request('ack range g4'), 'OK acked g4 on range')
    t.equal(await c.next(), 'END range 4')
    t.equal(await c.request('ack range g5'), 'ERR NOT_SUBSCRIBED not subscribed to range')
    t.equal(await c.request('sub range from=3 to=2'), 'ERR BAD_OPTION to=2 is before the start of the range, offset 3')
    t.equal(await c.request('sub range to=5'), 'ERR BAD_OPTION to=5 is before the start of the range, offset 6')
    t.equal(await c.request('sub range 1 group=rg to=9'), 'ERR BAD_OPTION option to must be absent in a group, got "9"')
    t.match(await pub.request('stats range'), /"subscriptions":0,/, 'the named range ended for good')
  })

  await t.test('retention trims acked events past maxAgeMs, never those still owed', async t => {
    const pub = await a.client()
    const sub = await b.client()
    await pub.request('create short.lived')
    await sub.request('sub short.lived')
    await pub.request('pub short.lived {"id":"s1","msg":1}')
    await pub.request('pub short.lived {"id":"s2","msg":2}')
    await sub.event()
    await sub.event()
    t.equal(await sub.request('ack short.lived s1'), 'OK acked s1 on short.lived')
    const info = async (): Promise<Record<string, unknown>> => {
      const list = JSON.parse((await pub.request('topics')).slice(3)) as Array<Record<string, unknown>>
      return list.find(x => x.topic === 'short.lived')!
    }
    const deadline = Date.now() + 5000
    while ((await info()).retainedEvents !== 1 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
    t.match(await info(), { firstOffset: 2, lastOffset: 2, retainedEvents: 1, pending: 1 }, 's1 trimmed; s2 is still in flight, kept')
    await new Promise(resolve => setTimeout(resolve, 500))
    t.match(await info(), { retainedEvents: 1 }, 'still kept while owed')
    t.equal(await sub.request('ack short.lived s2'), 'OK acked s2 on short.lived')
    const until = Date.now() + 5000
    while ((await info()).retainedEvents !== 0 && Date.now() < until) await new Promise(resolve => setTimeout(resolve, 50))
    t.match(await info(), { firstOffset: 3, lastOffset: 2, retainedEvents: 0, retainedBytes: 0, pending: 0 })
    // The default retention (24 h) keeps everything else.
    t.match((JSON.parse((await pub.request('topics')).slice(3)) as Array<Record<string, unknown>>).find(x => x.topic === 'replay'), { retainedEvents: 5 })
  })

  await t.test('maxTopics counts the topics of the whole cluster', async t => {
    const names = JSON.parse((await (await a.client()).request('topics')).slice(3)) as unknown[]
    const limited = await startNode(t, rc, {}, { maxTopics: names.length + 1 })
    const c = await limited.client()
    t.equal(await c.request('create lim.one'), 'OK created lim.one')
    t.equal(await c.request('create lim.two'), `ERR TOO_MANY_TOPICS the broker is at its limit of ${names.length + 1} topics (maxTopics); topic lim.two was not created`)
    t.equal(await c.request('pub lim.three {"msg":1}'), `ERR TOO_MANY_TOPICS the broker is at its limit of ${names.length + 1} topics (maxTopics); topic lim.three was not created`)
    t.equal(await c.request('pub lim.one {"msg":1}'), 'OK 1 published to lim.one (0 subscribers)', 'existing topics keep working')
    t.notMatch(await c.request('topics'), /lim\.t/)
  })

  await t.test('stats: a topic\'s subscribers from Redis; broker-wide counts of the whole cluster', async t => {
    const pub = await a.client()
    await pub.request('create st')
    const anon = await a.client()
    await anon.request('sub st 3')
    const w = await b.client()
    await w.request('name st-reader')
    await w.request('sub st')
    const g = await b.client()
    await g.request('sub st 2 group=gg')
    await pub.request('pub st {"id":"x","msg":1}')
    await anon.event()
    await w.event()
    await g.event()
    const stats = JSON.parse((await pub.request('stats st')).slice(3)) as Record<string, unknown>
    t.match(stats, { topic: 'st', published: 1, subscriptions: 3, pending: 0, inFlight: 3 })
    const subs = stats.subscribers as Array<Record<string, unknown>>
    t.match(subs.find(s => s.name === 'st-reader'), { connected: true, pending: 0, inFlight: 1, maxInFlight: 10, ack: 'explicit' })
    t.match(subs.find(s => s.name === null), { connected: true, inFlight: 1, maxInFlight: 3 })
    t.match(subs.find(s => s.name === 'group:gg'), { group: 'gg', members: [{ inFlight: 1, maxInFlight: 2 }] })
    t.equal(await pub.request('stats nosuch'), 'ERR UNKNOWN_TOPIC topic nosuch does not exist')
    const all = JSON.parse((await pub.request('stats')).slice(3)) as Record<string, unknown>
    t.equal(all.node, a.broker.cluster!.id)
    t.ok((all.topics as number) >= 3 && (all.subscriptions as number) >= 3, 'counted over the cluster')
    t.ok((all.published as number) >= 1, 'this node\'s own counters')
  })
})
