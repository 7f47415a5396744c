import t from 'tap'
import { startTestBroker, type LineClient } from '../helpers/broker'

function statsOf (line: string): Record<string, any> {
  if (!line.startsWith('OK {')) throw new Error(`expected OK {json}, got ${line}`)
  return JSON.parse(line.slice(3)) as Record<string, any>
}

/** The ids of the EVENT lines `c` receives until it has `n` of them. */
async function eventIds (c: LineClient, n: number): Promise<string[]> {
  const ids: string[] = []
  while (ids.length < n) {
    const line = await c.next(10000)
    const m = /^EVENT \S+ \{"id":"([^"]+)"/.exec(line)
    if (m === null) throw new Error(`expected an EVENT with a leading string id, got ${line.slice(0, 100)}`)
    ids.push(m[1])
  }
  return ids
}

/**
 * Publishes big events to `topic` until the subscriber that stopped reading
 * has one waiting in the broker (its socket no longer drains); returns the
 * ids published, the last one being the one waiting.
 */
async function fillUntilWaiting (p: LineClient, topic: string, body: string): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < 400; i++) {
    const id = `fill-${i}`
    const r = await p.request(`pub ${topic} {"id":"${id}","priority":0,"msg":"${body}"}`)
    if (!r.startsWith('OK ')) throw new Error(r)
    ids.push(id)
    if (statsOf(await p.request(`stats ${topic}`)).subscribers[0].pending === 1) return ids
  }
  throw new Error('the subscriber\'s socket never stopped draining')
}

t.test('ack=none: events are written and forgotten, nothing in flight, nothing redelivered after a reconnect', async t => {
  const tb = await startTestBroker(t)
  const p = await tb.client()
  const s = await tb.client()
  const acked = await tb.client()
  await p.request('pub telemetry {"msg":"create"}')
  t.equal(await s.request('SUBSCRIBE telemetry ACK=none'), 'OK subscribed to telemetry (at most once, ack=none)', 'keys are case-insensitive')
  t.equal(await acked.request('sub telemetry 1'), 'OK subscribed to telemetry (max in flight 1)')
  t.equal(await p.request('pub telemetry {"id":"a","priority":3,"msg":"cpu 41%"}'), 'OK a published to telemetry (2 subscribers)')
  t.equal(await p.request('pub telemetry {"id":"b","msg":"cpu 43%"}'), 'OK b published to telemetry (2 subscribers)')
  t.equal(await s.next(), 'EVENT telemetry {"id":"a","priority":3,"msg":"cpu 41%","timestamp":' + String((JSON.parse((await acked.next()).slice('EVENT telemetry '.length)) as { timestamp: number }).timestamp) + ',"offset":2}',
    'the same EVENT line as an acked subscriber gets')
  t.match((await s.event()).event, { id: 'b' }, 'past the acked subscriber\'s cap of 1: an at-most-once subscriber has none')
  t.ok(await acked.quiet(50), 'the acked subscriber waits for its ack')
  t.equal(await s.request('ack telemetry a'), 'ERR NOT_IN_FLIGHT event "a" is not in flight for you on telemetry')
  const topic = statsOf(await p.request('stats telemetry'))
  t.same(topic.subscribers.map((x: Record<string, unknown>) => [x.ack, x.pending, x.inFlight, x.dropped]), [['none', 0, 0, 0], ['explicit', 1, 1, 0]])
  t.equal(topic.inFlight, 1, 'only the acked subscriber holds an event in flight')

  s.destroy()
  await p.request('pub telemetry {"id":"c","msg":"while away"}')
  const s2 = await tb.client()
  t.equal(await s2.request('sub telemetry ack=none'), 'OK subscribed to telemetry (at most once, ack=none)')
  await p.request('pub telemetry {"id":"d","msg":"back"}')
  t.match((await s2.event()).event, { id: 'd' }, 'after a reconnect: nothing from before (a, b) and nothing published while away (c)')
  t.ok(await s2.quiet(100))
  t.equal(await s2.request('unsub telemetry'), 'OK unsubscribed from telemetry')
  await p.request('pub telemetry {"id":"e","msg":"after unsub"}')
  t.ok(await s2.quiet(100), 'nothing after unsub')
  t.equal(statsOf(await p.request('stats')).subscriptions, 1, 'the at-most-once subscriptions ended with their connection and unsub')
})

t.test('ack=none is refused on a named connection and with acked-only arguments', async t => {
  const tb = await startTestBroker(t)
  const a = await tb.client()
  await a.request('pub t {"msg":"create"}')
  t.equal(await a.request('sub t 10 ack=none'), 'ERR BAD_OPTION ack=none takes no max-in-flight: nothing is acked, replayed or redelivered')
  t.equal(await a.request('sub t 10 5000 ack=none'), 'ERR BAD_OPTION ack=none takes no max-in-flight: nothing is acked, replayed or redelivered')
  t.equal(await a.request('sub t ack=none to=5'), 'ERR BAD_OPTION ack=none takes no to=: nothing is acked, replayed or redelivered')
  t.equal(await a.request('sub t ack=none from=latest'), 'ERR BAD_OPTION ack=none takes no from=: nothing is acked, replayed or redelivered')
  t.equal(await a.request('sub t ack=all'), 'ERR BAD_OPTION option ack must be explicit or none, got "all"')
  t.equal(await a.request('sub t ack=none group=g'), 'ERR BAD_OPTION option ack must be explicit in a consumer group, got "none"', 'a group is a durable, acked queue')
  t.equal(await a.request('sub t.* ack=none'), 'ERR BAD_OPTION option ack must be explicit on a wildcard subscription, got "none"')
  t.equal(await a.request('sub # ack=none'), 'ERR BAD_OPTION option ack must be explicit on a wildcard subscription, got "none"')
  t.equal(await a.request('sub t ack=explicit'), 'OK subscribed to t (max in flight 10)', 'explicit is the acked subscription')
  const b = await tb.client()
  await b.request('name keeper')
  t.equal(await b.request('sub t ack=none'), 'ERR BAD_OPTION ack=none is for anonymous subscriptions: keeper is a durable name (subscribe on a connection without a name)')
  t.equal(statsOf(await b.request('stats')).subscriptions, 1, 'refused: nothing subscribed')
  const c = await tb.client()
  t.equal(await c.request('sub t ack=none'), 'OK subscribed to t (at most once, ack=none)')
  t.equal(await c.request('name late'), 'ERR NAME_AFTER_SUB set the name before subscribing: anonymous subscriptions are already open')
})

t.test('a slow at-most-once subscriber: highest priority first, the bound drops the oldest lowest-priority events, counted; publishers never held', async t => {
  // A queue bound of 2 and flow control at 1 event: neither applies to the at-most-once subscriber.
  const tb = await startTestBroker(t, { atMostOnceMaxWaiting: 5, maxPendingPerSubscriber: 2, publishHoldPending: 1 })
  const p = await tb.client()
  const s = await tb.client()
  await p.request('pub metrics {"msg":"create"}')
  await s.request('sub metrics ack=none')
  s.socket.pause() // stop reading: the broker's writes to s back up
  const body = 'x'.repeat(256 * 1024)
  const before = await fillUntilWaiting(p, 'metrics', body)
  const w1 = before[before.length - 1]
  const pub = async (id: string, priority: number): Promise<void> => {
    t.equal(await p.request(`pub metrics {"id":"${id}","priority":${priority},"msg":"small"}`), `OK ${id} published to metrics (1 subscriber)`)
  }
  const waiting = async (): Promise<[number, number, number]> => {
    const st = statsOf(await p.request('stats metrics')).subscribers[0]
    return [st.pending, st.dropped, statsOf(await p.request('stats')).atMostOnceDropped]
  }
  for (const id of ['w2', 'w3', 'w4', 'w5']) await pub(id, 0)
  t.same(await waiting(), [5, 0, 0], 'at the bound (5 waiting): nothing dropped')
  await pub('w6', 0)
  t.same(await waiting(), [5, 1, 1], 'one past the bound: one dropped (the oldest, ' + w1 + ')')
  await pub('h1', 9)
  t.same(await waiting(), [5, 2, 2], 'an urgent event pushes out the oldest of the lowest priority (w2)')
  await pub('m1', 4)
  t.same(await waiting(), [5, 3, 3], 'w3 goes')
  await pub('w7', 0)
  t.same(await waiting(), [5, 4, 4], 'a new event of the lowest priority pushes out an older one of its level (w4), not itself')
  await pub('l1', 0)
  await pub('h2', 9)
  await pub('h3', 9)
  await pub('h4', 9)
  // Waiting was h1, m1, w5, w6, w7; l1 dropped w5, h2 dropped w6, h3 dropped w7, h4 dropped l1.
  t.same(await waiting(), [5, 8, 8])
  t.equal(await p.request('pub metrics {"id":"low","priority":0,"msg":"outranked"}'), 'OK low published to metrics (1 subscriber)')
  t.same(await waiting(), [5, 9, 9], 'everything waiting outranks a new lowest-priority event: it is the one that goes')

  s.socket.resume()
  const got = await eventIds(s, before.length - 1 + 5)
  t.same(got.slice(0, before.length - 1), before.slice(0, -1), 'what was already in the socket comes first, in order')
  t.same(got.slice(before.length - 1), ['h1', 'h2', 'h3', 'h4', 'm1'], 'then the waiting events, highest priority first, oldest first within one')
  t.ok(await s.quiet(150), 'the dropped events never come')
  t.match(statsOf(await p.request('stats metrics')).subscribers[0], { ack: 'none', pending: 0, inFlight: 0, dropped: 9 })
})

t.test('ack=none subscribers owe nothing: what is published to them never counts against maxPendingBytes (an acked subscriber\'s events still do), nor is it refused over the limit', async t => {
  const tb = await startTestBroker(t, { maxPendingBytes: 4096 })
  const p = await tb.client()
  const s = await tb.client()
  await p.request('pub tele {"msg":"create"}')
  await s.request('sub tele ack=none')
  const payload = 'x'.repeat(1000)
  for (let i = 0; i < 20; i++) t.match(await p.request(`pub tele {"id":"t${i}","priority":0,"msg":"${payload}"}`), /^OK t\d+ published to tele \(1 subscriber\)$/)
  t.same(await eventIds(s, 20), Array.from({ length: 20 }, (_, i) => `t${i}`), 'all delivered')
  t.equal(tb.broker.store.pendingBytes, 0, 'nothing held for them')
  const a = await tb.client()
  await a.request('sub tele 1')
  const replies: string[] = []
  for (let i = 0; i < 8; i++) replies.push(await p.request(`pub tele {"id":"a${i}","msg":"${payload}"}`))
  const ok = replies.filter(r => r.startsWith('OK')).length
  t.ok(ok >= 4 && ok < 8, `with an acked subscriber too, accepted until about 4096 bytes were held (${ok})`)
  t.match(replies[ok], /^ERR OVERLOADED /)
  const q = await tb.client()
  await p.request('pub other {"msg":"create"}')
  await q.request('sub other ack=none')
  t.match(await p.request(`pub other {"id":"o1","priority":0,"msg":"${payload}"}`), /^OK o1 published to other \(1 subscriber\)$/, 'over the limit, a topic whose subscribers are all at most once still accepts: no one is owed its events')
  t.same(await eventIds(q, 1), ['o1'])
})

t.test('an ack=none subscriber taking an event does not let go of the object an acked subscriber of the topic still waits to deliver', async t => {
  const tb = await startTestBroker(t, { batchIntervalMs: 3600000 }) // nothing stored while the test looks
  const p = await tb.client()
  const a = await tb.client()
  const b = await tb.client()
  await p.request('pub mixed {"msg":"create"}')
  await a.request('sub mixed 1')
  await b.request('sub mixed ack=none')
  t.match(await p.request('pub mixed {"id":"m1","priority":0,"msg":1}'), /^OK m1 /)
  t.match(await p.request('pub mixed {"id":"m2","priority":0,"msg":2}'), /^OK m2 /)
  t.same(await eventIds(b, 2), ['m1', 'm2'], 'the at-most-once subscriber has both')
  t.match((await a.event()).event, { id: 'm1' }, 'the acked one has the first in flight, the second waits')
  const topic = tb.broker.store.topic('mixed')!
  t.ok(topic.holdsUnstoredObject(3), 'the waiting event\'s object is still held for it')
  await a.request('ack mixed m1')
  t.match((await a.event()).event, { id: 'm2' })
  t.notOk(topic.holdsUnstoredObject(3), 'handed over by both: only its bytes are held')
})
