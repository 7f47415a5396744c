import t from 'tap'
import { startTestBroker } from '../helpers/broker'

t.test('named subscriber: offline events queue, reconnect redelivers unacked first', async t => {
  const tb = await startTestBroker(t)
  const p = await tb.client()
  await p.request('pub orders {"msg":"create topic"}')

  const s1 = await tb.client()
  t.equal(await s1.request('name worker-1'), 'OK named worker-1')
  t.equal(await s1.request('name again'), 'ERR ALREADY_NAMED this connection is already named worker-1')
  t.equal(await s1.request('sub orders 2'), 'OK subscribed to orders (max in flight 2)')
  for (const [id, pr] of [['a', 1], ['b', 1], ['c', 1]] as const) await p.request(`pub orders {"id":"${id}","priority":${pr},"msg":"${id}"}`)
  t.match((await s1.event()).event, { id: 'a' })
  t.match((await s1.event()).event, { id: 'b' })
  t.equal(await s1.request('ack orders a'), 'OK acked a on orders')
  t.match((await s1.event()).event, { id: 'c' })
  // b and c are in flight, unacked. The subscriber goes away.
  s1.destroy()
  await new Promise(resolve => setTimeout(resolve, 50))
  t.equal(await p.request('pub orders {"id":"d","priority":9,"msg":"while offline"}'), 'OK d published to orders (1 subscriber)')
  t.equal(await p.request('pub orders {"id":"e","priority":0,"msg":"while offline"}'), 'OK e published to orders (1 subscriber)')

  const s2 = await tb.client()
  t.equal(await s2.request('name worker-1'), 'OK named worker-1', 'the name is free once its connection closed')
  t.equal(await s2.request('sub orders'), 'OK subscribed to orders (max in flight 2, resumed with 4 pending)')
  const b = (await s2.event()).event
  const c = (await s2.event()).event
  t.match(b, { id: 'b', deliveries: 2 })
  t.match(c, { id: 'c', deliveries: 2 })
  await s2.request('ack orders b')
  t.match((await s2.event()).event, { id: 'd' }, 'then the rest by priority')
  t.equal(await s2.request('ack orders c'), 'OK acked c on orders')
  const e = (await s2.event()).event
  t.match(e, { id: 'e' })
  t.notOk('deliveries' in e)
  t.equal(await s2.request('unsub orders'), 'OK unsubscribed from orders (2 unacked events dropped)')
  s2.destroy()
  await new Promise(resolve => setTimeout(resolve, 50))
  t.equal(await p.request('pub orders {"msg":"nobody"}'), 'OK 2 published to orders (0 subscribers)', 'unsub ended the named subscription for good')
})

t.test('two live connections cannot hold one name', async t => {
  const tb = await startTestBroker(t)
  const a = await tb.client()
  const b = await tb.client()
  t.equal(await a.request('name alice'), 'OK named alice')
  t.equal(await b.request('name alice'), 'ERR NAME_IN_USE name alice is held by another live connection')
  t.equal(await b.request('name bad/name'), 'ERR BAD_NAME invalid client id "bad/name": use 1-200 characters of A-Z a-z 0-9 . _ -')
  t.equal(await b.request('name'), 'ERR BAD_ARGS missing client id; usage: name <client-id>')
  t.equal(await b.request('name bob'), 'OK named bob')
})

t.test('anonymous subscriptions end with the connection', async t => {
  const tb = await startTestBroker(t)
  const p = await tb.client()
  await p.request('pub t {"msg":0}')
  const s = await tb.client()
  await s.request('sub t 1')
  await p.request('pub t {"msg":1}')
  await p.request('pub t {"msg":2}')
  await s.event()
  t.equal(tb.broker.store.counts().subscriptions, 1)
  s.destroy()
  await new Promise(resolve => setTimeout(resolve, 50))
  t.same(tb.broker.store.counts(), { topics: 1, subscriptions: 0, pending: 0, inFlight: 0 })
  t.equal(tb.broker.store.topic('t')!.lowestOwed(), Infinity, 'their events are released')
  tb.broker.store.refreshPendingBytes()
  t.equal(tb.broker.store.pendingBytes, 0)
})
