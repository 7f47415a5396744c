import t from 'tap'
import { LatencyRecorder, median, nowMs, paceAllowance, percentile, rate } from '../../src/bench/stats'

t.test('percentile (nearest rank)', async (t) => {
  const s = Array.from({ length: 100 }, (_, i) => i + 1) // 1..100
  t.equal(percentile(s, 50), 50)
  t.equal(percentile(s, 90), 90)
  t.equal(percentile(s, 99), 99)
  t.equal(percentile(s, 100), 100)
  t.equal(percentile(s, 0), 1)
  t.equal(percentile(s, 0.001), 1)
  t.equal(percentile([7], 99), 7)
  t.equal(percentile([1, 2, 3], 50), 2)
  t.equal(percentile([1, 2, 3, 4], 50), 2)
  t.ok(Number.isNaN(percentile([], 50)))
})

t.test('LatencyRecorder exact below capacity', async (t) => {
  const r = new LatencyRecorder(1000)
  for (let i = 1000; i >= 1; i--) r.record(i)
  const s = r.summary()
  t.equal(s.count, 1000)
  t.equal(s.min, 1)
  t.equal(s.max, 1000)
  t.equal(s.mean, 500.5)
  t.equal(s.p50, 500)
  t.equal(s.p90, 900)
  t.equal(s.p99, 990)
  t.equal(r.count, 1000)
})

t.test('LatencyRecorder grows its buffer and samples past capacity', async (t) => {
  const r = new LatencyRecorder(100_000)
  for (let i = 0; i < 70_000; i++) r.record(i % 10)
  t.equal(r.summary().p50, 4)
  let k = 0
  const seq = [0.1, 0.99999] // first replaces slot, second is dropped
  const small = new LatencyRecorder(2, () => seq[k++ % 2]!)
  small.record(1)
  small.record(2)
  small.record(100) // j = floor(0.1*3) = 0 -> replaces 1
  small.record(50) // j = floor(0.99999*4) = 3 -> dropped
  const s = small.summary()
  t.equal(s.count, 4)
  t.equal(s.min, 1)
  t.equal(s.max, 100)
  t.equal(s.p50, 2)
  t.equal(s.p99, 100)
  const def = new LatencyRecorder()
  def.record(3)
  t.equal(def.summary().p99, 3)
})

t.test('empty recorder summary is NaN', async (t) => {
  const s = new LatencyRecorder().summary()
  t.equal(s.count, 0)
  t.ok(Number.isNaN(s.p50) && Number.isNaN(s.max))
})

t.test('median, rate, nowMs', async (t) => {
  t.equal(median([3, 1, 2]), 2)
  t.equal(median([4, 1, 2, 3]), 2.5)
  t.equal(median([NaN, 5]), 5)
  t.ok(Number.isNaN(median([])))
  t.equal(rate(500, 250), 2000)
  t.equal(rate(0, 100), 0)
  t.equal(rate(10, 0), 0)
  t.ok(Math.abs(nowMs() - Date.now()) < 1000)
})

t.test('paceAllowance', async (t) => {
  t.equal(paceAllowance(0, 1000), 1)
  t.equal(paceAllowance(10, 1000), 11)
  t.equal(paceAllowance(1000, 5000), 5001)
  t.equal(paceAllowance(-5, 1000), 1)
  t.equal(paceAllowance(123, 0), Infinity)
})
