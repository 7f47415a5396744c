import t from 'tap'
import { startTestBroker, waitFor } from '../helpers/broker'
import { testHash } from '../helpers/auth'

/** Dead-letters events e1..en of `jobs` (maxDeliveries 1: one nack each) with subscriber `w`. */
async function deadLetters (tb: Awaited<ReturnType<typeof startTestBroker>>, n: number): Promise<{ w: Awaited<ReturnType<typeof tb.client>>, p: Awaited<ReturnType<typeof tb.client>> }> {
  const w = await tb.client()
  const p = await tb.client()
  await p.request('pub jobs {"msg":"create"}')
  await w.request('name w')
  await w.request('sub jobs 100')
  for (let i = 1; i <= n; i++) {
    await p.request(`pub jobs {"id":"e${i}","priority":3,"msg":"job ${i}","tags":["a", "b"] }`)
    await w.event()
    await w.request(`nack jobs e${i}`)
  }
  return { w, p }
}

t.test('requeue over TCP: one by id, the oldest, all; the event comes back as first published', async t => {
  const tb = await startTestBroker(t, { maxDeliveries: 1, batchIntervalMs: 20, eventCacheBytes: 1 })
  const { w, p } = await deadLetters(tb, 3)
  await waitFor(() => tb.broker.durability.batcher.batches > 1 && tb.broker.store.topic('jobs.dlq')!.unflushedCount === 0, 'dead letters stored in segments')
  t.equal(await p.request('requeue jobs'), 'ERR BAD_TOPIC "jobs" is not a dead-letter topic; requeue takes <topic>.dlq')
  t.equal(await p.request('requeue .dlq'), 'ERR BAD_TOPIC ".dlq" is not a dead-letter topic; requeue takes <topic>.dlq')
  t.equal(await p.request('requeue nope.dlq'), 'ERR UNKNOWN_TOPIC topic nope.dlq does not exist')
  t.equal(await p.request('requeue jobs.dlq 99'), 'ERR NO_DEAD_LETTER no dead letter "99" waits in jobs.dlq')
  t.equal(await p.request('requeue'), 'ERR BAD_ARGS missing topic name; usage: requeue <topic> [event-id|all]')

  t.equal(await p.request('requeue jobs.dlq 2'), 'OK requeued dead letter 2 from jobs.dlq to jobs (2 left)')
  const back = await w.next()
  t.match(back, /^EVENT jobs \{"id":"e2","priority":3,"msg":"job 2","tags":\["a", "b"\],"timestamp":\d+,"offset":5\}$/, 'the original id, priority and fields byte for byte, a new offset')
  t.equal(await p.request('requeue jobs.dlq 2'), 'ERR NO_DEAD_LETTER no dead letter "2" waits in jobs.dlq', 'gone from the dead-letter queue')
  t.equal(await p.request('requeue jobs.dlq'), 'OK requeued 1 dead letter from jobs.dlq to jobs (1 left)', 'without an id: the oldest')
  t.match(await w.next(), /^EVENT jobs \{"id":"e1",/)
  t.equal(await p.request('requeue jobs.dlq all'), 'OK requeued 1 dead letter from jobs.dlq to jobs (0 left)')
  t.match(await w.next(), /^EVENT jobs \{"id":"e3",/)
  t.equal(await p.request('requeue jobs.dlq'), 'ERR NO_DEAD_LETTER no dead letters wait in jobs.dlq')
  t.equal(await p.request('requeue jobs.dlq all'), 'OK requeued 0 dead letters from jobs.dlq (0 left)')
  const dlq = JSON.parse((await p.request('stats jobs.dlq')).slice(3))
  t.match(dlq, { topic: 'jobs.dlq', pending: 0, inFlight: 0 })
  t.equal(await w.request('ack jobs e1'), 'OK acked e1 on jobs', 'requeued events are acked like any other')

  // Durable: after a restart the dead-letter queue is still empty and the requeued events are owed to w.
  const logDir = tb.broker.config.logDir
  await tb.stop()
  const again = await startTestBroker(t, { logDir, maxDeliveries: 1 })
  const c = await again.client()
  t.match(JSON.parse((await c.request('stats jobs.dlq')).slice(3)), { pending: 0, inFlight: 0 })
  t.match(JSON.parse((await c.request('stats jobs')).slice(3)), { pending: 2 }, 'e2 and e3 wait for w')
})

t.test('requeue all moves at most requeueMaxEvents; an id still pending in the source refuses that one', async t => {
  const tb = await startTestBroker(t, { maxDeliveries: 1, requeueMaxEvents: 2, dedupeWindowMs: 1 })
  const { w, p } = await deadLetters(tb, 3)
  await new Promise(resolve => setTimeout(resolve, 5)) // past the dedupe window: e1 may be published again
  t.equal(await p.request('pub jobs {"id":"e1","msg":"again"}'), 'OK e1 published to jobs (1 subscriber)')
  await w.event()
  t.equal(await p.request('requeue jobs.dlq all'), 'ERR DUPLICATE_ID dead letter 1 of jobs.dlq not requeued: event id e1 is still pending on jobs; ids must be unique among a topic\'s unacked events')
  t.equal(await w.request('ack jobs e1'), 'OK acked e1 on jobs')
  t.equal(await p.request('requeue jobs.dlq all'), 'OK requeued 2 dead letters from jobs.dlq to jobs (1 left)', 'the limit, and what is left')
  t.equal(await p.request('requeue jobs.dlq all'), 'OK requeued 1 dead letter from jobs.dlq to jobs (0 left)')
  const ids = []
  for (let i = 0; i < 3; i++) ids.push(JSON.parse((await w.next()).replace(/^EVENT jobs /, '')).id)
  t.same(ids, ['e1', 'e2', 'e3'])
})

t.test('requeue needs publish rights on the dead-letter topic and on the source topic', async t => {
  const users = {
    ops: { passwordHash: testHash('ops'), publish: ['*'], subscribe: ['*'] },
    dl: { passwordHash: testHash('dl'), publish: ['jobs.dlq'], subscribe: ['*'] },
    ro: { passwordHash: testHash('ro'), publish: [], subscribe: ['*'] },
  }
  const tb = await startTestBroker(t, { maxDeliveries: 1, auth: { required: true, users } })
  const a = await tb.client()
  t.equal(await a.request('auth ops ops'), 'OK authenticated as ops')
  await a.request('pub jobs {"msg":"create"}')
  await a.request('sub jobs')
  await a.request('pub jobs {"id":"x","msg":1}')
  await a.event()
  t.match(await a.request('nack jobs x'), /moved to jobs\.dlq/)
  const ro = await tb.client()
  await ro.request('auth ro ro')
  t.equal(await ro.request('requeue jobs.dlq all'), 'ERR FORBIDDEN user ro may not publish to jobs.dlq')
  const dl = await tb.client()
  await dl.request('auth dl dl')
  t.equal(await dl.request('requeue jobs.dlq all'), 'ERR FORBIDDEN dead letter 1 of jobs.dlq not requeued: user dl may not publish to jobs')
  const ops = await tb.client()
  await ops.request('auth ops ops')
  t.equal(await ops.request('requeue jobs.dlq all'), 'OK requeued 1 dead letter from jobs.dlq to jobs (0 left)')
  t.match(await a.next(), /^EVENT jobs \{"id":"x",/)
})
