import t from 'tap'
import { startTestBroker, tempDir } from '../helpers/broker'

function expectOk (reply: string): void {
  if (!reply.startsWith('OK ')) throw new Error(`pub refused: ${reply}`)
}

/** Publishes `ids` to `topic` (which must exist) and reads their EVENT lines on `s`, in order. */
async function deliver (p: Awaited<ReturnType<Awaited<ReturnType<typeof startTestBroker>>['client']>>,
  s: typeof p, topic: string, ids: string[]): Promise<void> {
  for (const id of ids) expectOk(await p.request(`pub ${topic} {"id":"${id}","msg":1}`))
  for (const id of ids) {
    const e = await s.event()
    if (e.event.id !== id) throw new Error(`expected ${id}, got ${JSON.stringify(e.event)}`)
  }
}

t.test('batch ack: several ids in one line, one reply with the count; the freed slots fill after it', async t => {
  const tb = await startTestBroker(t)
  const p = await tb.client()
  const s = await tb.client()
  await p.request('pub jobs {"msg":"create"}')
  t.equal(await s.request('sub jobs 3'), 'OK subscribed to jobs (max in flight 3)')
  await deliver(p, s, 'jobs', ['a', 'b', 'c'])
  await p.request('pub jobs {"id":"d","msg":1}')
  await p.request('pub jobs {"id":"e","msg":1}')
  t.ok(await s.quiet(50), 'd and e wait behind the cap of 3')
  t.equal(await s.request('ack jobs c a\tb'), 'OK acked 3 on jobs', 'tabs and spaces separate ids; any order')
  t.match((await s.event()).event, { id: 'd' })
  t.match((await s.event()).event, { id: 'e' })
  t.equal(await s.request('ACKNOWLEDGE jobs e   d  '), 'OK acked 2 on jobs', 'extra blanks between and after ids are fine')
  t.equal(await s.request('ack jobs a'), 'ERR NOT_IN_FLIGHT event "a" is not in flight for you on jobs', 'acked in the batch: no longer in flight')
  const st = JSON.parse((await s.request('stats')).slice(3))
  t.equal(st.acked, 5, 'each id of a batch counts as one ack')
  t.equal(st.inFlight, 0)
})

t.test('batch ack is all or nothing: an unknown id, an id listed twice, an id of another topic', async t => {
  const tb = await startTestBroker(t)
  const p = await tb.client()
  const s = await tb.client()
  await p.request('pub jobs {"msg":"create"}')
  await p.request('pub other {"msg":"create"}')
  await s.request('sub jobs 5')
  await s.request('sub other 5')
  await deliver(p, s, 'jobs', ['a', 'b'])
  await deliver(p, s, 'other', ['x'])

  t.equal(await s.request('ack jobs a nope b zilch'), 'ERR NOT_IN_FLIGHT event "nope" is not in flight for you on jobs; nothing was acked',
    'the first unknown id is named')
  t.equal(await s.request('ack jobs a b a'), 'ERR BAD_ARGS event id "a" is listed twice; nothing was acked')
  t.equal(await s.request('ack jobs a x'), 'ERR NOT_IN_FLIGHT event "x" is not in flight for you on jobs; nothing was acked',
    'an id in flight on another topic is not in flight on this one')
  let st = JSON.parse((await s.request('stats jobs')).slice(3))
  t.equal(st.inFlight, 2, 'a and b are still in flight after every refused batch')
  t.equal(JSON.parse((await s.request('stats')).slice(3)).acked, 0)

  t.equal(await s.request('ack other x'), 'OK acked x on other', 'a single id keeps its reply naming the id')
  t.equal(await s.request('ack jobs a b'), 'OK acked 2 on jobs')
  st = JSON.parse((await s.request('stats jobs')).slice(3))
  t.equal(st.inFlight, 0)
  t.equal(await s.request('ack jobs a b'), 'ERR NOT_IN_FLIGHT event "a" is not in flight for you on jobs; nothing was acked', 'acking twice is refused')
  t.equal(await s.request('ack nosub a b'), 'ERR UNKNOWN_TOPIC topic nosub does not exist')
  t.equal(await s.request('ack jobs'), 'ERR BAD_ARGS missing event id; usage: ack <topic> <event-id> [event-id ...]')
})

t.test('batch ack of a named subscriber is durable: acked ids are not redelivered after a restart', async t => {
  const logDir = tempDir()
  const tb = await startTestBroker(t, { logDir })
  const p = await tb.client()
  const s = await tb.client()
  await p.request('pub jobs {"msg":"create"}')
  t.equal(await s.request('name w'), 'OK named w')
  await s.request('sub jobs 5')
  await deliver(p, s, 'jobs', ['a', 'b', 'c'])
  t.equal(await s.request('ack jobs a c'), 'OK acked 2 on jobs')
  await tb.stop()
  const tb2 = await startTestBroker(t, { logDir })
  const s2 = await tb2.client()
  await s2.request('name w')
  t.equal(await s2.request('sub jobs'), 'OK subscribed to jobs (max in flight 5, resumed with 1 pending)')
  t.match((await s2.event()).event, { id: 'b', deliveries: 2 })
  t.ok(await s2.quiet(100), 'only b, the one not acked, comes again')
})
