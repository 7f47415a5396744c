import t from 'tap'
import { startTestBroker } from '../helpers/broker'
import { ManualClock } from '../helpers/clock'
import { ACKS_PER_CLOCK_READ } from '../../src/manager/handlers/ack'

/** A ManualClock that counts its readings. */
function countingClock (): { clock: ManualClock, reads: () => number } {
  const clock = new ManualClock()
  const read = clock.now
  let n = 0
  clock.now = () => { n++; return read() }
  return { clock, reads: () => n }
}

t.test('the acks of one read share a clock reading, up to ACKS_PER_CLOCK_READ acks', async t => {
  const { clock, reads } = countingClock()
  const tb = await startTestBroker(t, { redeliveryCheckMs: 10 }, clock)
  const p = await tb.client()
  const s = await tb.client()
  await p.request('pub jobs {"msg":"create"}')
  t.equal(await s.request('sub jobs 100 1000'), 'OK subscribed to jobs (max in flight 100)')
  const n = ACKS_PER_CLOCK_READ + 8
  for (let i = 0; i < n + 1; i++) await p.request(`pub jobs {"id":"e${i}","msg":${i}}`)
  for (let i = 0; i < n + 1; i++) t.match((await s.event()).event, { id: `e${i}` })

  // One ack alone in its write, then n acks in one write (the broker reads them in one chunk, or a few, and applies
  // them in one turn). Whatever else reads the clock once per read, the n acks read it about twice, not n times.
  let before = reads()
  t.equal(await s.request('ack jobs e0'), 'OK acked e0 on jobs')
  const single = reads() - before
  before = reads()
  s.send(...Array.from({ length: n }, (_, i) => `ack jobs e${i + 1}`))
  for (let i = 0; i < n; i++) t.equal(await s.reply(), `OK acked e${i + 1} on jobs`)
  const burst = reads() - before
  t.ok(burst > single, `past ACKS_PER_CLOCK_READ acks the clock is read again (${burst} reads against ${single} for one ack)`)
  t.ok(burst <= single + 3, `${n} acks in one write read the clock ${burst} times (one ack: ${single}), not once each`)
})

t.test('a refill by an ack in a later turn is due from that turn, not from an earlier reading', async t => {
  const { clock } = countingClock()
  const tb = await startTestBroker(t, { redeliveryCheckMs: 10 }, clock)
  const p = await tb.client()
  const s = await tb.client()
  await p.request('pub q {"msg":"create"}')
  t.equal(await s.request('sub q 1 1000'), 'OK subscribed to q (max in flight 1)')
  await p.request('pub q {"id":"a","msg":1}')
  await p.request('pub q {"id":"b","msg":2}')
  t.match((await s.event()).event, { id: 'a' })
  t.equal(await s.request('ack q a'), 'OK acked a on q', 'read at t0')
  t.match((await s.event()).event, { id: 'b' })
  await p.request('pub q {"id":"c","msg":3}')
  clock.advance(500)
  // This ack comes in another turn: its refill (c) is due 1000 ms from t0 + 500, not from t0.
  t.equal(await s.request('ack q b'), 'OK acked b on q')
  t.match((await s.event()).event, { id: 'c' })
  clock.advance(999)
  t.ok(await s.quiet(50), 'c is not redelivered 1499 ms after t0: its deadline counts from the ack that sent it')
  clock.advance(1)
  t.match((await s.event()).event, { id: 'c', deliveries: 2 })
})
