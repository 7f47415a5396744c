import t from 'tap'
import { BrokerStats } from '../../src/stats/stats'

t.test('rates cover the last ~10 s of samples', async t => {
  let now = 1_000_000
  const s = new BrokerStats(() => now)
  now += 500
  t.same(s.rates(), { published: 0, delivered: 0, acked: 0 })
  s.published += 10
  t.same(s.rates(), { published: 20, delivered: 0, acked: 0 }, '10 in half a second')
  for (let i = 0; i < 30; i++) {
    now += 1000
    s.published += 5
    s.delivered += 10
    s.acked += 1
    s.tick()
  }
  const r = s.rates()
  t.ok(r.published >= 4.5 && r.published <= 5.5, `steady 5/s reads as about 5/s (${r.published})`)
  t.ok(r.delivered >= 9 && r.delivered <= 11)
  t.ok(r.acked >= 0.9 && r.acked <= 1.1)
  s.start()
  s.start()
  s.stop()
  s.stop()
})
