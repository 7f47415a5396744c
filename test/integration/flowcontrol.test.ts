import t from 'tap'
import { ManualClock } from '../helpers/clock'
import { startTestBroker } from '../helpers/broker'
import type { Connection } from '../../src/server/connection'

t.test('flow control: a publisher waits while an active subscriber lags, and resumes as it catches up', async t => {
  const tb = await startTestBroker(t, { publishHoldPending: 5, publishHoldMaxMs: 60000 })
  const p = await tb.client()
  const s = await tb.client()
  await p.request('pub q {"msg":"create"}')
  await s.request('sub q 1')
  await p.request('pub q {"id":"a0","msg":0}')
  t.match((await s.event()).event, { id: 'a0' })
  await s.request('ack q a0') // an acking subscriber counts as active
  const lines: string[] = []
  for (let i = 1; i <= 20; i++) lines.push(`pub q {"id":"a${i}","msg":${i}}`)
  p.send(...lines)
  // a1 goes in flight, a2..a6 wait (5 = the limit), a7 makes 6 waiting: its pub is applied and answered, then the publisher is held.
  for (let i = 1; i <= 7; i++) t.equal(await p.next(), `OK a${i} published to q (1 subscriber)`)
  t.ok(await p.quiet(200), 'held: the rest of its lines wait')
  const conn = [...tb.broker.server.connections].find(c => c.throttled) as Connection | undefined
  t.ok(conn !== undefined && conn.queuedLines === 13, 'its 13 remaining lines are queued, not applied')
  t.equal(tb.broker.store.topic('q')!.subscriptions.values().next().value!.pending, 6)
  // The subscriber catches up: back at the limit (5 waiting) the publisher is still held; at half of it (2) it goes,
  // for a burst that takes the subscriber past the limit again (a8..a11: 3, 4, 5, then 6 waiting).
  for (let i = 1; i <= 3; i++) {
    t.match((await s.event()).event, { id: `a${i}` })
    await s.request(`ack q a${i}`)
    t.ok(await p.quiet(100), `still held with ${6 - i} waiting`)
  }
  t.match((await s.event()).event, { id: 'a4' })
  await s.request('ack q a4')
  for (let i = 8; i <= 11; i++) t.equal(await p.next(), `OK a${i} published to q (1 subscriber)`)
  t.ok(await p.quiet(200), 'held again: past the limit')
  // Drain everything: every pub is eventually applied, in order.
  let acked = 4
  let replies = 11
  while (acked < 20 || replies < 20) {
    const line = await Promise.race([s.next(), p.next()])
    if (line.startsWith('EVENT ')) {
      const id = JSON.parse(line.slice(8)).id as string
      s.send(`ack q ${id}`)
    } else if (line.startsWith('OK acked')) {
      acked++
    } else {
      replies++
      t.equal(line, `OK a${replies} published to q (1 subscriber)`)
    }
  }
  t.equal(replies, 20)
})

t.test('flow control: a subscriber that stopped acking holds no one back for long', async t => {
  const clock = new ManualClock()
  const tb = await startTestBroker(t, { publishHoldPending: 3, publishHoldMaxMs: 150 }, clock)
  const p = await tb.client()
  const s = await tb.client()
  await p.request('pub q {"msg":"create"}')
  await s.request('sub q 1')
  await p.request('pub q {"id":"x","msg":0}')
  await s.event()
  await s.request('ack q x')
  const lines: string[] = []
  for (let i = 0; i < 30; i++) lines.push(`pub q {"id":${i},"msg":${i}}`)
  p.send(...lines)
  // The subscriber never acks again: the publisher is held, but after publishHoldMaxMs the subscriber no longer
  // counts, and every pub goes through.
  let next = 0
  let advanced = 0
  while (next < 30) {
    const line = await p.next(200).catch(() => null)
    if (line === null) {
      t.ok(next > 3 && next < 30, `held after ${next} pubs, with the subscriber over publishHoldPending`)
      clock.advance(150) // publishHoldMaxMs since its last ack: the subscriber no longer counts
      advanced++
      continue
    }
    t.equal(line, `OK ${next} published to q (1 subscriber)`)
    next++
  }
  t.equal(advanced, 1, 'one publishHoldMaxMs released it for good')
  t.equal(tb.broker.store.topic('q')!.subscriptions.values().next().value!.pending, 29)
})

t.test('flow control ignores subscribers that are gone or not reading', async t => {
  const tb = await startTestBroker(t, { publishHoldPending: 2 })
  const p = await tb.client()
  const named = await tb.client()
  await p.request('pub q {"msg":"create"}')
  await named.request('name offline')
  await named.request('sub q 1')
  named.destroy()
  await new Promise(resolve => setTimeout(resolve, 50))
  for (let i = 0; i < 20; i++) t.equal(await p.request(`pub q {"id":${i},"msg":${i}}`), `OK ${i} published to q (1 subscriber)`)
  t.equal(tb.broker.store.topic('q')!.subscriptions.get('offline')!.pending, 20, 'an offline named subscriber queues without holding publishers')
})
