import t from 'tap'
import { OffsetMarks, TopicChanges } from '../../src/persistence/batcher'
import { TopicState } from '../../src/persistence/topicState'
import { parseStateLine } from '../../src/persistence/stateCodec'

/** Applies state-log records to a fresh topic state with one subscription `w` owed offsets 1..20 (priority offset % 3). */
function stateAfter (records: string[]): { waiting: number[], delivered: Array<[number, number]> } {
  const st = new TopicState('t')
  st.apply(['S', 'w', 100, 30000, 1, 0])
  st.apply(['S', 'x', 100, 30000, 1, 0])
  for (const r of records) st.apply(parseStateLine(r))
  for (let o = 1; o <= 20; o++) st.addTail(o, o % 3)
  st.finishTail(21)
  const sub = st.subs.get('w')!
  const waiting: number[] = []
  sub.waiting.forEachRun((_p, s, e) => { for (let o = s; o <= e; o++) waiting.push(o) })
  const delivered: Array<[number, number]> = []
  sub.forEachDelivered((o, _p, n) => delivered.push([o, n]))
  return { waiting: waiting.sort((a, b) => a - b), delivered: delivered.sort((a, b) => a[0] - b[0]) }
}

t.test('a delivery acked in the same batch leaves no D; acks across deliveries coalesce into ranges; the state is the same', async t => {
  const c = new TopicChanges()
  // Deliveries in priority order (2, 1, 0 …), acked in between, as a subscriber with in-flight 3 would.
  const order = [2, 5, 8, 1, 4, 7, 3, 6, 9]
  const log: Array<['D' | 'A', number]> = []
  for (let i = 0; i < order.length; i++) {
    c.delivered('w', order[i], order[i] % 3, 1)
    log.push(['D', order[i]])
    if (i >= 2) { c.ack('w', order[i - 2]); log.push(['A', order[i - 2]]) }
  }
  c.delivered('w', 10, 1, 1) // not acked: its D stays
  const records = c.take()
  // Acked: 2, 5, 8, 1, 4, 7, 3; delivered and not acked: 6, 9, 10.
  t.same(records, ['["D","w",6,0,1]', '["D","w",9,0,1]', '["D","w",10,1,1]', '["A","w",1,5]', '["A","w",7,8]'], 'the unacked deliveries, then the acks as ranges')
  t.notOk(records.includes('["D","w",2,2,1]'), 'an acked delivery leaves no D')
  // The same events, one record per change (what the batch wrote before): the same state.
  const plain = log.map(([k, o]) => k === 'D' ? `["D","w",${o},${o % 3},1]` : `["A","w",${o},${o}]`)
  plain.push('["D","w",10,1,1]')
  t.same(stateAfter(records), stateAfter(plain), 'the same state as one record per change')
  t.same(stateAfter(records).delivered, [[6, 1], [9, 1], [10, 1]])
  t.same(c.take(), [], 'taken')
})

t.test('other records keep their place: acks before them are written before them; another subscription\'s ack closes the group', async t => {
  const c = new TopicChanges()
  c.delivered('w', 1, 1, 1)
  c.ack('w', 1)
  c.push('["C","w",5]')
  c.delivered('w', 2, 2, 1)
  c.ack('x', 3)
  c.ack('w', 2)
  c.delivered('x', 4, 1, 2)
  t.same(c.take(), ['["A","w",1,1]', '["C","w",5]', '["A","x",3,3]', '["D","x",4,1,2]', '["A","w",2,2]'])
})

t.test('a delivery of another subscription is not dropped by this one\'s ack; a redelivery after an ack keeps its order', async t => {
  const c = new TopicChanges()
  c.delivered('w', 7, 1, 1)
  c.delivered('x', 7, 1, 1)
  c.ack('w', 7)
  let records = c.take()
  t.same(records, ['["D","w",7,1,1]', '["D","x",7,1,1]', '["A","w",7,7]'], 'x\'s D is the latest for offset 7: w\'s stays (correct, if not smallest)')
  c.ack('w', 9)
  c.delivered('w', 9, 0, 2)
  c.ack('w', 10)
  records = c.take()
  t.same(records, ['["A","w",9,9]', '["D","w",9,0,2]', '["A","w",10,10]'])
})

t.test('a failed batch: its records go first next time', async t => {
  const c = new TopicChanges()
  c.delivered('w', 1, 1, 1)
  const first = c.take()
  c.ack('w', 2)
  c.putBack(first)
  c.ack('w', 3)
  t.same(c.take(), ['["D","w",1,1,1]', '["A","w",2,2]', '["A","w",3,3]'])
})

t.test('OffsetMarks: marks by offset, near ones in the typed array, far ones (below the first, or a million above) in the map', async t => {
  const m = new OffsetMarks()
  t.equal(m.get(5), undefined)
  m.set(1000, 0)
  m.set(1001, -3)
  m.set(1500, 7)
  m.set(10, 4) // below the first offset noted
  m.set(1000 + 2 * 1024 * 1024, 9) // far above
  t.equal(m.get(1000), 0, 'a mark of 0 is a mark')
  t.equal(m.get(1001), -3)
  t.equal(m.get(1500), 7)
  t.equal(m.get(10), 4)
  t.equal(m.get(1000 + 2 * 1024 * 1024), 9)
  t.equal(m.get(1002), undefined)
  t.equal(m.get(999), undefined)
  m.set(1500, -1)
  t.equal(m.get(1500), -1, 'set again')
  m.clear()
  for (const o of [10, 1000, 1001, 1500, 1000 + 2 * 1024 * 1024]) t.equal(m.get(o), undefined, `cleared ${o}`)
  m.set(5, 2)
  t.equal(m.get(5), 2, 'after a clear, a new first offset')
})
