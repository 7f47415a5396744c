import t from 'tap'
import { startTestBroker } from '../helpers/broker'
import { startLoggedBroker, testHash } from '../helpers/auth'

t.test('sub orders.* covers the matching topics that exist and those created later; EVENT names the topic; ack by topic', async t => {
  const b = await startTestBroker(t)
  const p = await b.client()
  const s = await b.client()
  t.match(await p.request('pub orders.eu {"msg":"before"}'), /^OK/)
  t.match(await p.request('pub orders.eu.paid {"msg":"two words"}'), /^OK/)
  t.match(await p.request('pub stock {"msg":"other"}'), /^OK/)
  t.equal(await s.request('sub orders.* 10'), 'OK subscribed to orders.* (max in flight 10, 1 topic now)')
  t.equal(await p.request('pub orders.eu {"id":"a","msg":1}'), 'OK a published to orders.eu (1 subscriber)')
  t.match(await s.next(), /^EVENT orders\.eu \{"priority":0,"id":"a","msg":1,"timestamp":\d+,"offset":2\}$/)
  t.equal(await p.request('pub orders.us {"id":"b","msg":2}'), 'OK b published to orders.us (1 subscriber)', 'a topic created after the sub is covered')
  const ev = await s.event()
  t.equal(ev.topic, 'orders.us')
  t.equal(ev.event.id, 'b')
  t.equal(await p.request('pub orders.eu.paid {"id":"c","msg":3}'), 'OK c published to orders.eu.paid (0 subscribers)', '* is exactly one word')
  t.equal(await p.request('pub stock {"id":"d","msg":4}'), 'OK d published to stock (0 subscribers)')
  t.equal(await s.request('ack orders.us b'), 'OK acked b on orders.us')
  t.equal(await s.request('ack orders.eu a'), 'OK acked a on orders.eu')
  t.equal(await s.request('ack orders b'), 'ERR UNKNOWN_TOPIC topic orders does not exist')
  t.equal(await s.request('sub orders.* 10'), 'ERR ALREADY_SUBSCRIBED already subscribed to orders.*')
  t.equal(await s.request('sub orders.us'), 'ERR ALREADY_SUBSCRIBED already subscribed to orders.us', 'the wildcard holds orders.us')
  t.ok(await s.quiet(), 'nothing else was delivered')
  t.equal(await s.request('unsub orders.*'), 'OK unsubscribed from orders.* (2 topics)')
  t.equal(await p.request('pub orders.new {"id":"e","msg":5}'), 'OK e published to orders.new (0 subscribers)', 'not watched any more')
  t.equal(await p.request('pub orders.eu {"id":"f","msg":6}'), 'OK f published to orders.eu (0 subscribers)')
  t.equal(await s.request('unsub orders.*'), 'ERR NOT_SUBSCRIBED not subscribed to orders.*')
})

t.test('sub orders.#: zero or more words; one in-flight cap across every topic, shared in turn', async t => {
  const b = await startTestBroker(t)
  const p = await b.client()
  const s = await b.client()
  t.equal(await s.request('sub orders.# 2'), 'OK subscribed to orders.# (max in flight 2, 0 topics now)')
  for (const [topic, id] of [['orders', 'o1'], ['orders.eu', 'o2'], ['orders.eu.paid', 'o3'], ['orders.eu', 'o4']]) {
    t.match(await p.request(`pub ${topic} {"id":"${id}","msg":"${topic}"}`), /^OK /)
  }
  const first = [await s.event(), await s.event()]
  t.same(first.map(e => `${e.topic} ${String(e.event.id)}`), ['orders o1', 'orders.eu o2'])
  t.ok(await s.quiet(), 'the cap of 2 holds across topics')
  t.equal(await s.request('ack orders o1'), 'OK acked o1 on orders')
  const third = await s.event()
  t.ok(['orders.eu.paid o3', 'orders.eu o4'].includes(`${third.topic} ${String(third.event.id)}`), `one more once a slot is free: ${third.topic}`)
  t.ok(await s.quiet(), 'still at most 2 in flight')
  t.equal(b.broker.store.counts().inFlight, 2)
  t.equal(await s.request('ack orders.eu o2'), 'OK acked o2 on orders.eu')
  const fourth = await s.event()
  t.not(`${fourth.topic} ${String(fourth.event.id)}`, `${third.topic} ${String(third.event.id)}`)
  t.equal(await s.request(`ack ${third.topic} ${String(third.event.id)}`), `OK acked ${String(third.event.id)} on ${third.topic}`)
  t.equal(await s.request(`ack ${fourth.topic} ${String(fourth.event.id)}`), `OK acked ${String(fourth.event.id)} on ${fourth.topic}`)
  t.equal(await s.request('sub orders.eu*'), 'ERR BAD_TOPIC invalid topic name "orders.eu*": use 1-200 characters of A-Z a-z 0-9 . _ - (not "." or "..")')
  t.equal(await s.request('sub orders.* 1 to=5'), 'ERR BAD_OPTION option to must be absent on a wildcard subscription, got "5"')
})

t.test('batch acks on a wildcard subscription name the concrete topic', async t => {
  const b = await startTestBroker(t)
  const p = await b.client()
  const s = await b.client()
  t.equal(await s.request('sub orders.* 4'), 'OK subscribed to orders.* (max in flight 4, 0 topics now)')
  for (const [topic, id] of [['orders.eu', 'e1'], ['orders.us', 'u1'], ['orders.eu', 'e2']]) {
    t.match(await p.request(`pub ${topic} {"id":"${id}","msg":"${topic}"}`), /^OK /)
  }
  const got = [await s.event(), await s.event(), await s.event()].map(e => `${e.topic} ${String(e.event.id)}`).sort()
  t.same(got, ['orders.eu e1', 'orders.eu e2', 'orders.us u1'])
  t.equal(await s.request('ack orders.eu e1 u1'), 'ERR NOT_IN_FLIGHT event "u1" is not in flight for you on orders.eu; nothing was acked', 'ids of one topic per ack')
  t.equal(await s.request('ack orders.eu e2 e1'), 'OK acked 2 on orders.eu')
  t.equal(await s.request('ack orders.us u1'), 'OK acked u1 on orders.us')
  t.equal(b.broker.store.counts().inFlight, 0)
})

t.test('a disconnect ends the wildcard subscription and its members', async t => {
  const b = await startTestBroker(t)
  const p = await b.client()
  const s = await b.client()
  t.match(await p.request('pub a.x {"msg":1}'), /^OK/)
  t.match(await s.request('sub a.*'), /^OK subscribed to a\.\* .*1 topic now/)
  s.destroy()
  await new Promise(resolve => setTimeout(resolve, 100))
  t.equal(b.broker.store.topic('a.x')!.subscriptions.size, 0)
  t.match(await p.request('pub a.y {"msg":2}'), /\(0 subscribers\)$/, 'no longer watching for new topics')
  t.equal(b.broker.store.topicWatchers.size, 0)
})

t.test('ACLs apply per concrete topic: a wildcard never leaks a topic the user may not read', async t => {
  const users = {
    alice: { passwordHash: testHash('alice-pw'), publish: ['*'], subscribe: ['orders.eu', 'orders.us'] },
    bob: { passwordHash: testHash('bob-pw'), publish: ['*'], subscribe: ['*'] },
  }
  const tb = await startLoggedBroker(t, { auth: { required: true, users } })
  const alice = await tb.client()
  const bob = await tb.client()
  t.match(await alice.request('auth alice alice-pw'), /^OK/)
  t.match(await bob.request('auth bob bob-pw'), /^OK/)
  for (const topic of ['orders.eu', 'orders.secret', '~bob.orders']) t.match(await bob.request(`pub ${topic} {"msg":"create"}`), /^OK/)
  t.equal(await alice.request('sub orders.*'), 'OK subscribed to orders.* (max in flight 10, 1 topic now)', 'orders.secret is left out')
  t.equal(await alice.request('sub #'), 'OK subscribed to # (max in flight 10, 0 topics now)', 'nothing else alice may read; ~bob.orders stays hidden')
  t.match(await bob.request('pub orders.secret {"id":"s1","msg":"no"}'), /\(0 subscribers\)$/)
  t.match(await bob.request('pub orders.us {"id":"u1","msg":"yes"}'), /\(1 subscriber\)$/, 'a later topic alice may read joins')
  t.match(await bob.request('pub orders.hidden {"id":"h1","msg":"no"}'), /\(0 subscribers\)$/, 'a later topic alice may not read does not')
  t.match(await bob.request('pub ~bob.orders {"id":"p1","msg":"no"}'), /\(0 subscribers\)$/)
  const ev = await alice.event()
  t.same([ev.topic, ev.event.id], ['orders.us', 'u1'])
  t.ok(await alice.quiet())
})

t.test('revoke ends a grantee\'s wildcard member of a private topic, as its direct subscription', async t => {
  const users = {
    alice: { passwordHash: testHash('alice-pw'), publish: [], subscribe: [] },
    bob: { passwordHash: testHash('bob-pw'), publish: [], subscribe: [] },
  }
  const tb = await startLoggedBroker(t, { auth: { required: true, users } })
  const alice = await tb.client()
  const bob = await tb.client()
  t.match(await alice.request('auth alice alice-pw'), /^OK/)
  t.match(await bob.request('auth bob bob-pw'), /^OK/)
  t.equal(await alice.request('grant ~alice.w bob sub'), 'OK bob may now sub on ~alice.w')
  t.equal(await bob.request('sub *.w'), 'OK subscribed to *.w (max in flight 10, 1 topic now)')
  t.equal(await alice.request('pub ~alice.w {"id":"w1","msg":1}'), 'OK w1 published to ~alice.w (1 subscriber)')
  t.equal((await bob.event()).event.id, 'w1')
  t.equal(await alice.request('revoke ~alice.w bob'), 'OK bob may now none on ~alice.w (1 subscription ended)')
  t.equal(await alice.request('pub ~alice.w {"id":"w2","msg":2}'), 'OK w2 published to ~alice.w (0 subscribers)')
  t.ok(await bob.quiet(), 'nothing after the revoke')
  t.equal(await bob.request('ack ~alice.w w1'), 'ERR UNKNOWN_TOPIC topic ~alice.w does not exist')
})
