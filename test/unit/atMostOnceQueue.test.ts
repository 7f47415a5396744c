import t from 'tap'
import { AtMostOnceQueue } from '../../src/store/atMostOnceQueue'
import type { StoredEvent } from '../../src/store/event'

function ev (offset: number, priority: number): StoredEvent {
  return { id: offset, key: String(offset), priority, offset, timestamp: 0, json: '{}' }
}

t.test('highest priority first, then oldest; the bound drops the oldest of the lowest priority', async t => {
  const q = new AtMostOnceQueue(3)
  t.equal(q.shift(), undefined)
  t.equal(q.push(ev(1, 2)), false)
  t.equal(q.push(ev(2, 7)), false)
  t.equal(q.push(ev(3, 2)), false)
  t.equal(q.size, 3, 'at the bound')
  t.equal(q.push(ev(4, 5)), true, 'past it: one goes')
  t.equal(q.size, 3)
  t.same([q.shift()?.offset, q.shift()?.offset, q.shift()?.offset], [2, 4, 3], 'offset 1, the oldest priority-2 event, was dropped')
  t.equal(q.push(ev(5, 9)), false)
  q.clear()
  t.equal(q.size, 0)
  t.equal(q.shift(), undefined)
})

t.test('a long run through one level stays in order (its array is compacted as it goes)', async t => {
  const q = new AtMostOnceQueue(10000)
  for (let i = 1; i <= 5000; i++) q.push(ev(i, 0))
  const out: number[] = []
  for (let i = 0; i < 3000; i++) out.push(q.shift()!.offset)
  for (let i = 5001; i <= 6000; i++) q.push(ev(i, 0))
  while (q.size > 0) out.push(q.shift()!.offset)
  t.equal(out.length, 6000)
  t.ok(out.every((o, i) => o === i + 1), 'every event once, in publish order')
})
