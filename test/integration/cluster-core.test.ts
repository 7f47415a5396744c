import t from 'tap'
import { BUILTIN_COMMANDS } from '../../src/commands/builtin'
import { defineCommand } from '../../src/commands/spec'
import { CLUSTER_HANDLERS, clusterCommands, CONNECTION_COMMANDS } from '../../src/cluster/commands'
import { testHash } from '../helpers/auth'
import { startTestBroker } from '../helpers/broker'
import { startNode, unstamped } from '../helpers/clusterBroker'
import { hasRedis, skipReason, startRedisCluster } from '../helpers/redisCluster'

// Cluster mode's core (docs/cluster.md): two Ackline nodes in-process on one real Redis Cluster
// (3 masters + 3 replicas, WAIT 1), clients on real sockets. Each test uses its own topics.

t.test('cluster core', { skip: hasRedis() ? false : skipReason }, async t => {
  const rc = await startRedisCluster(t)
  const a = await startNode(t, rc, {}, { maxDeliveries: 3 })
  const b = await startNode(t, rc, {}, { maxDeliveries: 3 })

  await t.test('a client of node A receives what is published on node B, byte for byte as on one node', async t => {
    const sub = await a.client()
    const pub = await b.client()
    t.equal(await sub.request('create cross'), 'OK created cross')
    t.equal(await sub.request('sub cross'), 'OK subscribed to cross (max in flight 10)')
    // Publisher bytes kept verbatim: odd spacing, escapes, unicode, a member order of its own.
    const text = '{ "msg" : {"a": [1, 2.50, "x\\u00e9\\n"]},  "id":"e-1" , "note":"ünïcödé ✓" }'
    t.equal(await pub.request(`pub cross ${text}`), 'OK e-1 published to cross (1 subscriber)')
    const clustered = await sub.next()
    t.equal(await pub.request('pub cross {"msg":"no id"}'), 'OK 1 published to cross (1 subscriber)')
    const assigned = await sub.next()

    // The same two publishes on a single node give the same lines (timestamps aside).
    const single = await startTestBroker(t, { http: null })
    const s1 = await single.client()
    const p1 = await single.client()
    await s1.request('create cross')
    await s1.request('sub cross')
    await p1.request(`pub cross ${text}`)
    await p1.request('pub cross {"msg":"no id"}')
    t.equal(unstamped(clustered), unstamped(await s1.next()))
    t.equal(unstamped(assigned), unstamped(await s1.next()))
    t.equal(unstamped(clustered), 'EVENT cross {"priority":0, "msg" : {"a": [1, 2.50, "x\\u00e9\\n"]},  "id":"e-1" , "note":"ünïcödé ✓" ,"timestamp":<ts>,"offset":1}')
    t.equal(unstamped(assigned), 'EVENT cross {"id":1,"priority":0,"msg":"no id","timestamp":<ts>,"offset":2}')
  })

  await t.test('priority first, then offset; the in-flight cap holds across nodes', async t => {
    const sub = await a.client()
    const pub = await b.client()
    await pub.request('create prio')
    t.equal(await sub.request('sub prio 1'), 'OK subscribed to prio (max in flight 1)')
    await pub.request('pub prio {"id":"first","msg":0}')
    t.equal((await sub.event()).event.id, 'first')
    for (const [id, p] of [['low', 0], ['mid1', 5], ['high', 9], ['mid2', 5]] as const) {
      t.match(await pub.request(`pub prio {"id":"${id}","priority":${p},"msg":1}`), /^OK /)
    }
    t.ok(await sub.quiet(300), 'nothing more while the one slot is taken')
    const order: unknown[] = []
    let id = 'first'
    for (let i = 0; i < 4; i++) {
      sub.send(`ack prio ${id}`)
      t.equal(await sub.reply(), `OK acked ${id} on prio`)
      id = (await sub.event()).event.id as string
      order.push(id)
    }
    t.same(order, ['high', 'mid1', 'mid2', 'low'])
  })

  await t.test('an unacked event comes back after its ack timeout, with deliveries counted; touch and nack', async t => {
    const sub = await a.client()
    const pub = await b.client()
    await pub.request('create slow')
    t.equal(await sub.request('sub slow 5 300'), 'OK subscribed to slow (max in flight 5)')
    await pub.request('pub slow {"id":"j1","msg":"job"}')
    const first = await sub.event()
    t.equal(first.event.deliveries, undefined, 'a first delivery has no deliveries member')
    const again = await sub.event(3000)
    t.equal(again.event.id, 'j1')
    t.equal(again.event.deliveries, 2, 'redelivered after the ack timeout, by whichever node reaps')
    t.equal(await sub.request('touch slow j1 2000'), 'OK touched j1 on slow (ack due in 2000 ms)')
    t.ok(await sub.quiet(500), 'touched: not redelivered at its old deadline')
    t.equal(await sub.request('nack slow j1'), 'OK nacked j1 on slow')
    t.equal((await sub.event()).event.deliveries, 3)
    t.equal(await sub.request('nack slow j1 200'), 'OK nacked j1 on slow: moved to slow.dlq after 3 deliveries', 'maxDeliveries 3: dead-lettered')
    t.equal(await sub.request('ack slow j1'), 'ERR NOT_IN_FLIGHT event "j1" is not in flight for you on slow')

    // The dead letter waits for the dead-letter topic's durable reader, on any node.
    const reader = await b.client()
    t.equal(await reader.request('name dead-letters'), 'OK named dead-letters')
    t.equal(await reader.request('sub slow.dlq'), 'OK subscribed to slow.dlq (max in flight 10, resumed with 1 pending)')
    const dead = await reader.event()
    t.match(dead.event, { msg: 'job', priority: 0, offset: 1, deadLetter: { topic: 'slow', subscriber: null, id: 'j1', reason: 'nack', deliveries: 3 } })
    t.match(await reader.request(`ack slow.dlq ${String(dead.event.id)}`), /^OK acked/)
  })

  await t.test('nack with a delay: delivered again once the delay is over', async t => {
    const sub = await a.client()
    const pub = await b.client()
    await pub.request('create later')
    await sub.request('sub later')
    await pub.request('pub later {"id":"d1","msg":1}')
    await sub.event()
    const t0 = Date.now()
    t.equal(await sub.request('nack later d1 400'), 'OK nacked d1 on later (again in 400 ms)')
    const again = await sub.event(3000)
    t.ok(Date.now() - t0 >= 390, 'not before the delay')
    t.equal(again.event.deliveries, 2)
  })

  await t.test('dedupe: an id published within the window is a duplicate, on any node', async t => {
    const pub1 = await a.client()
    const pub2 = await b.client()
    t.equal(await pub1.request('pub dup {"id":"x","msg":1}'), 'OK x published to dup (0 subscribers)')
    t.equal(await pub2.request('pub dup {"id":"x","msg":2}'), 'OK x duplicate, already published to dup')
    t.equal(await pub2.request('pub dup {"id":7,"msg":3}'), 'OK 7 published to dup (0 subscribers)')
    t.equal(await pub2.request('pub dup {"msg":4}'), 'OK 8 published to dup (0 subscribers)', 'assigned ids stay clear of numeric ids publishers chose')
    t.match(await pub1.request('topics'), /\{"topic":"dup","firstOffset":1,"lastOffset":3,"retainedEvents":3,"retainedBytes":\d+,"subscribers":0,"pending":0\}/)
  })

  await t.test('ack: batches all or nothing, refusals as on one node', async t => {
    const sub = await a.client()
    const other = await a.client()
    const pub = await b.client()
    await pub.request('create acks')
    await sub.request('sub acks')
    await other.request('sub acks')
    for (const id of ['k1', 'k2', 'k3']) await pub.request(`pub acks {"id":"${id}","msg":0}`)
    for (let i = 0; i < 3; i++) await sub.event()
    for (let i = 0; i < 3; i++) await other.event()
    t.equal(await sub.request('ack acks k1 k1'), 'ERR BAD_ARGS event id "k1" is listed twice; nothing was acked')
    t.equal(await sub.request('ack acks k1 nope k2'), 'ERR NOT_IN_FLIGHT event "nope" is not in flight for you on acks; nothing was acked')
    t.equal(await sub.request('ack acks k1 k2'), 'OK acked 2 on acks')
    t.equal(await sub.request('ack acks k1'), 'ERR NOT_IN_FLIGHT event "k1" is not in flight for you on acks')
    t.equal(await other.request('ack acks k1 k2 k3'), 'OK acked 3 on acks', 'each subscription has its own copy')
    t.equal(await sub.request('ack nosuch k1'), 'ERR UNKNOWN_TOPIC topic nosuch does not exist')
    t.equal(await sub.request('ack dup x'), 'ERR NOT_SUBSCRIBED not subscribed to dup')
    t.equal(await sub.request('sub acks'), 'ERR ALREADY_SUBSCRIBED already subscribed to acks')
    t.equal(await sub.request('sub nosuch'), 'ERR UNKNOWN_TOPIC topic nosuch does not exist; publish to it first')
    t.equal(await sub.request('unsub acks'), 'OK unsubscribed from acks (1 unacked event dropped)')
    t.equal(await sub.request('unsub acks'), 'ERR NOT_SUBSCRIBED not subscribed to acks')
    t.equal(await sub.request('create acks'), 'ERR TOPIC_EXISTS topic acks exists already')
  })

  await t.test('commit: acks what was delivered up to an offset, never what was not', async t => {
    const sub = await a.client()
    const pub = await b.client()
    await pub.request('create cm')
    t.equal(await sub.request('sub cm 3'), 'OK subscribed to cm (max in flight 3)')
    for (let i = 1; i <= 5; i++) await pub.request(`pub cm {"id":"c${i}","msg":${i}}`)
    for (let i = 0; i < 3; i++) await sub.event()
    t.equal(await sub.request('nack cm c3 60000'), 'OK nacked c3 on cm (again in 60000 ms)')
    t.equal((await sub.event()).event.id, 'c4', 'the freed slot')
    t.equal(await sub.request('commit cm 4'), 'OK committed cm up to 4 (4 acked)', 'c1, c2 in flight, c3 delayed, c4 in flight')
    t.equal((await sub.event()).event.id, 'c5')
    t.equal(await sub.request('commit cm 4'), 'OK committed cm up to 4 (0 acked)')
    t.equal(await sub.request('ack cm c3'), 'ERR NOT_IN_FLIGHT event "c3" is not in flight for you on cm')
    t.match(await pub.request('stats cm'), /"pending":0,"inFlight":1,/)
  })

  await t.test('names are leased cluster-wide: NAME_IN_USE while held on another node, free once it goes', async t => {
    const first = await a.client()
    const second = await b.client()
    t.equal(await first.request('name worker'), 'OK named worker')
    t.equal(await second.request('name worker'), 'ERR NAME_IN_USE name worker is held by another live connection')
    t.equal(await first.request('quit'), 'OK bye')
    await first.closedByPeer()
    let reply = ''
    for (let i = 0; i < 50 && reply !== 'OK named worker'; i++) {
      reply = await second.request('name worker')
      if (reply !== 'OK named worker') await new Promise(resolve => setTimeout(resolve, 20))
    }
    t.equal(reply, 'OK named worker', 'released when its connection closed')
    t.equal(await second.request('name other'), 'ERR ALREADY_NAMED this connection is already named worker')
  })

  await t.test('a named subscriber resumes on another node; events it had not acked go first', async t => {
    const pub = await b.client()
    await pub.request('create jobs')
    const w = await a.client()
    await w.request('name w1')
    t.equal(await w.request('sub jobs 2'), 'OK subscribed to jobs (max in flight 2)')
    for (const id of ['j1', 'j2', 'j3']) await pub.request(`pub jobs {"id":"${id}","msg":0}`)
    t.equal((await w.event()).event.id, 'j1')
    t.equal((await w.event()).event.id, 'j2')
    w.destroy() // gone without acking j1, j2
    const w2 = await b.client()
    let reply = ''
    for (let i = 0; i < 50 && reply !== 'OK named w1'; i++) {
      reply = await w2.request('name w1')
      if (reply !== 'OK named w1') await new Promise(resolve => setTimeout(resolve, 20))
    }
    t.equal(await w2.request('sub jobs'), 'OK subscribed to jobs (max in flight 2, resumed with 3 pending)')
    const got = [await w2.event(), await w2.event()]
    t.same(got.map(e => [e.event.id, e.event.deliveries]), [['j1', 2], ['j2', 2]])
    t.equal(await w2.request('ack jobs j1'), 'OK acked j1 on jobs')
    const third = await w2.event()
    t.same([third.event.id, third.event.deliveries], ['j3', undefined], 'then new ones, first delivery')
    t.equal(await w2.request('unsub jobs'), 'OK unsubscribed from jobs (2 unacked events dropped)', 'unsub ends a named subscription for good')
  })

  await t.test('delete ends every subscriber on every node', async t => {
    const sub = await a.client()
    const pub = await b.client()
    await pub.request('create gone')
    await sub.request('sub gone')
    t.equal(await pub.request('delete gone'), 'OK deleted gone')
    t.equal(await sub.next(), 'END gone deleted')
    t.equal(await sub.request('ack gone x'), 'ERR UNKNOWN_TOPIC topic gone does not exist')
    t.equal(await pub.request('delete gone'), 'ERR UNKNOWN_TOPIC topic gone does not exist')
    t.notMatch(await pub.request('topics'), /"topic":"gone"/)
    // Deleted on another node than the one that made it, then published to there again: listed again.
    t.equal(await sub.request('create again'), 'OK created again')
    t.equal(await pub.request('delete again'), 'OK deleted again')
    t.equal(await sub.request('pub again {"msg":1}'), 'OK 1 published to again (0 subscribers)', 'a new topic from offset 1')
    t.match(await pub.request('topics'), /\{"topic":"again","firstOffset":1,"lastOffset":1,"retainedEvents":1,/)
  })

  await t.test('ack=none: at most once, written and forgotten; a slow reader loses its oldest of the lowest priority', async t => {
    const slow = await startNode(t, rc, {}, { atMostOnceMaxWaiting: 3 })
    const pub = await b.client()
    await pub.request('create amo')
    const s = await slow.client()
    t.equal(await s.request('sub amo ack=none'), 'OK subscribed to amo (at most once, ack=none)')
    t.equal(await pub.request('pub amo {"id":"m1","msg":1}'), 'OK m1 published to amo (1 subscriber)')
    t.equal((await s.event()).event.id, 'm1')
    t.equal(await s.request('ack amo m1'), 'ERR NOT_IN_FLIGHT event "m1" is not in flight for you on amo', 'nothing to ack')
    // A reader whose socket does not drain: its node stops pulling, the events wait in Redis, at most 3.
    const conn = [...(slow.broker.server as unknown as { connections: Set<{ canDeliver: () => boolean }> }).connections][0]
    conn.canDeliver = () => false
    for (const [id, p] of [['low1', 0], ['hi', 9], ['low2', 0], ['mid', 5], ['low3', 0]] as const) {
      t.match(await pub.request(`pub amo {"id":"${id}","priority":${p},"msg":0}`), /^OK /, 'never refused')
    }
    const stats = JSON.parse((await pub.request('stats amo')).slice(3)) as { subscribers: Array<Record<string, unknown>> }
    t.match(stats.subscribers[0], { name: null, ack: 'none', pending: 3, inFlight: 0, dropped: 2 })
    delete (conn as { canDeliver?: unknown }).canDeliver
    slow.broker.manager.resumeDeliveries(conn as never)
    t.same([(await s.event()).event.id, (await s.event()).event.id, (await s.event()).event.id], ['hi', 'mid', 'low3'],
      'the oldest of the lowest priority went first: low1, then low2')
    const named = await a.client()
    await named.request('name amo-n')
    t.equal(await named.request('sub amo ack=none'), 'ERR BAD_OPTION ack=none is for anonymous subscriptions: amo-n is a durable name (subscribe on a connection without a name)')
    t.equal(await s.request('sub amo2 5 ack=none'), 'ERR UNKNOWN_TOPIC topic amo2 does not exist; publish to it first')
    await pub.request('create amo2')
    t.equal(await s.request('sub amo2 5 ack=none'), 'ERR BAD_OPTION ack=none takes no max-in-flight: nothing is acked, replayed or redelivered')
    t.equal(await s.request('sub amo2 ack=none group=g'), 'ERR BAD_OPTION option ack must be explicit in a consumer group, got "none"')
  })

  await t.test('every built-in command has a cluster handler; one without would answer NOT_IN_CLUSTER; the connection stays usable', async t => {
    t.same(BUILTIN_COMMANDS.map(c => c.name).filter(n => CLUSTER_HANDLERS[n] === undefined && !CONNECTION_COMMANDS.has(n)), [], 'nothing left to NOT_IN_CLUSTER')
    const extra = defineCommand({ name: 'later', words: ['later'], args: [], access: 'open', handler: () => {} })
    const [mapped] = clusterCommands([extra], a.broker.cluster!)
    t.throws(() => mapped.handler(a.broker.manager.ctx, null as never, {}), { code: 'NOT_IN_CLUSTER', message: 'later is not available in cluster mode yet; see docs/cluster.md' })
    const c = await a.client()
    await c.request('create nic')
    t.equal(await c.request('webhooks nic'), 'OK []', 'webhooks answer as on one node')
    t.equal(await c.request('unwebhook nic x'), 'ERR UNKNOWN_WEBHOOK topic nic has no webhook named "x"')
    t.equal(await c.request('pub ~alice.x {"msg":1}'), 'ERR UNKNOWN_TOPIC topic ~alice.x does not exist', 'the auth gate hides private topics as on one node')
    t.equal(await c.request('ping'), 'OK PONG')
    t.match(await c.request('help'), /^OK commands: pub\|PUBLISH <topic> <event-json>, /)
    t.equal(await c.request('pub nic {"msg":1'), 'ERR BAD_JSON event is not valid JSON (error at character 9)', 'the same argument checks')
  })
})
