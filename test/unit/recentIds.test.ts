import t from 'tap'
import { RecentIds } from '../../src/store/recentIds'

t.test('each id keeps its newest offset and stamp, across prunes that compact the FIFO', async t => {
  const ids = new RecentIds()
  for (let i = 1; i <= 3000; i++) ids.note(`k${i % 1500}`, i, 1000 + i) // every key twice: the second note is its newest
  t.equal(ids.size, 1500)
  t.equal(ids.get('k7'), 1507)
  t.equal(ids.stampOf('k7'), 2507)
  // Forget entries below offset 2000 stamped before 3000: the old copies go, the newest of keys 500..1499 stay.
  t.equal(ids.prune(2000, 3000), 499, 'keys whose newest entry is below 2000 (k1..k499) are forgotten')
  t.equal(ids.get('k1'), undefined)
  t.equal(ids.stampOf('k1'), undefined)
  t.equal(ids.get('k700'), 2200, 'after the FIFO was compacted, places still resolve')
  t.equal(ids.stampOf('k700'), 3200)
  ids.note('k700', 3001, 4001)
  t.equal(ids.get('k700'), 3001)
  t.equal(ids.stampOf('k700'), 4001)
  t.equal(ids.prune(Infinity, Infinity), 1001, 'everything')
  t.equal(ids.size, 0)
  ids.note('again', 1, 5)
  t.equal(ids.stampOf('again'), 5, 'a FIFO emptied by a prune takes new ids')
  ids.clear()
  t.equal(ids.get('again'), undefined)
  ids.note('x', 9, 10)
  t.same([ids.get('x'), ids.stampOf('x'), ids.stampOf('y')], [9, 10, undefined])
})

t.test('past maxIds the oldest go, whatever their age', async t => {
  const ids = new RecentIds()
  for (let i = 1; i <= 5; i++) ids.note(`k${i}`, i, i)
  t.equal(ids.prune(0, 0, 3), 2)
  t.same(['k1', 'k2', 'k3'].map(k => ids.stampOf(k)), [undefined, undefined, 3])
})
