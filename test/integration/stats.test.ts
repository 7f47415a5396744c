import t from 'tap'
import { startTestBroker } from '../helpers/broker'

function parseOk (line: string): Record<string, any> {
  if (!line.startsWith('OK {')) throw new Error(`expected OK {json}, got ${line}`)
  return JSON.parse(line.slice(3)) as Record<string, any>
}

t.test('stats: broker-wide counts, rates, memory and uptime as one JSON line', async t => {
  const tb = await startTestBroker(t)
  const a = await tb.client()
  const b = await tb.client()
  const empty = parseOk(await a.request('stats'))
  t.match(empty, { topics: 0, subscriptions: 0, pending: 0, inFlight: 0, connections: 2, published: 0, delivered: 0, acked: 0 })
  t.same(Object.keys(empty), ['topics', 'subscriptions', 'pending', 'inFlight', 'connections', 'published', 'delivered', 'acked', 'redelivered', 'deadLettered', 'deadLetterBlocked', 'dropped', 'atMostOnceDropped', 'pendingBytes', 'rates', 'memory', 'uptimeMs', 'accepted', 'limitHits'], 'documented key order')
  t.same(Object.keys(empty.rates), ['published', 'delivered', 'acked'])
  t.ok(empty.memory.rss > 0 && empty.memory.heapUsed > 0, 'memory is reported')
  t.ok(empty.uptimeMs >= 0)

  await a.request('pub jobs {"msg":"create"}')
  await b.request('name worker-1')
  await b.request('sub jobs 2')
  for (let i = 1; i <= 4; i++) await a.request(`pub jobs {"id":"j${i}","msg":"job"}`)
  const e1 = await b.event()
  await b.event()
  await b.request(`ack jobs ${e1.event.id as string}`)
  await b.event() // the freed slot is filled
  const s = parseOk(await a.request('stats'))
  t.match(s, { topics: 1, subscriptions: 1, pending: 1, inFlight: 2, connections: 2, published: 5, delivered: 3, acked: 1 })
  t.ok(s.rates.published > 0, 'a publish rate is reported')
  t.equal(await a.request('stats jobs extra'), 'ERR BAD_ARGS unexpected "extra"; usage: stats [topic]')
  t.equal(await a.request('stats nope'), 'ERR UNKNOWN_TOPIC topic nope does not exist')
  t.match(await a.request('stats ../x'), /^ERR BAD_TOPIC /)
})

t.test('stats <topic>: each subscriber, named or anonymous, with pending and in flight', async t => {
  const tb = await startTestBroker(t)
  const p = await tb.client()
  await p.request('pub jobs {"msg":"create"}')
  const named = await tb.client()
  await named.request('name worker-1')
  await named.request('sub jobs 1')
  const anon = await tb.client()
  await anon.request('sub jobs 5')
  for (let i = 0; i < 3; i++) await p.request('pub jobs {"msg":"job"}')
  const s = parseOk(await p.request('stats jobs'))
  t.same(s, {
    topic: 'jobs',
    published: 4,
    subscriptions: 2,
    pending: 2,
    inFlight: 4,
    subscribers: [
      { name: 'worker-1', connected: true, pending: 2, inFlight: 1, maxInFlight: 1, ack: 'explicit', dropped: 0 },
      { name: null, connected: true, pending: 0, inFlight: 3, maxInFlight: 5, ack: 'explicit', dropped: 0 },
    ],
  })
  named.destroy()
  anon.destroy()
  const deadline = Date.now() + 5000
  let after = parseOk(await p.request('stats jobs'))
  while (after.subscriptions !== 1 && Date.now() < deadline) {
    await new Promise(resolve => setTimeout(resolve, 10))
    after = parseOk(await p.request('stats jobs'))
  }
  t.same(after.subscribers, [{ name: 'worker-1', connected: false, pending: 3, inFlight: 0, maxInFlight: 1, ack: 'explicit', dropped: 0 }],
    'the anonymous subscription ended; the named one waits, its in-flight event owed a redelivery')
  t.match(parseOk(await p.request('stats')), { connections: 1, subscriptions: 1, pending: 3, inFlight: 0 })
})
