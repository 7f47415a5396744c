import t from 'tap'
import { BrokerStats } from '../../src/stats/stats'
import { ManualClock } from '../helpers/clock'

t.test('rates cover the last ~10 s of samples', async t => {
  const clock = new ManualClock()
  const s = new BrokerStats(clock)
  clock.advance(500)
  t.same(s.rates(), { published: 0, delivered: 0, acked: 0 })
  s.published += 10
  t.same(s.rates(), { published: 20, delivered: 0, acked: 0 }, '10 in half a second')
  s.start()
  s.start() // idempotent: still one timer
  t.equal(clock.pending, 1)
  for (let i = 0; i < 30; i++) {
    s.published += 5
    s.delivered += 10
    s.acked += 1
    clock.advance(1000) // the stats timer samples once a second
  }
  const r = s.rates()
  t.ok(r.published >= 4.5 && r.published <= 5.5, `steady 5/s reads as about 5/s (${r.published})`)
  t.ok(r.delivered >= 9 && r.delivered <= 11)
  t.ok(r.acked >= 0.9 && r.acked <= 1.1)
  s.stop()
  s.stop()
  t.equal(clock.pending, 0, 'stop cancels the sampling timer')
})
