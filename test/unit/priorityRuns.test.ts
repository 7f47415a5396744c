import t from 'tap'
import { PriorityRuns } from '../../src/persistence/priorityRuns'

t.test('runs of consecutive offsets of one priority; a gap or another priority starts a run', async t => {
  const r = new PriorityRuns(1)
  for (let o = 10; o <= 19; o++) r.note(o, 3)
  r.note(20, 5)
  r.note(21, 5)
  r.note(25, 5) // a gap
  r.note(26, 0)
  t.equal(r.count, 4)
  t.equal(r.size, 14)
  t.same([0, 1, 2, 3].map(i => [r.startAt(i), r.endAt(i), r.priorityAt(i)]), [[10, 19, 3], [20, 21, 5], [25, 25, 5], [26, 26, 0]])
  t.equal(r.findFrom(0), 0)
  t.equal(r.findFrom(19), 0)
  t.equal(r.findFrom(20), 1)
  t.equal(r.findFrom(22), 2)
  t.equal(r.findFrom(27), 4)
  t.same(r.render(10), [0, 10, 3, 0, 2, 5, 3, 1, 5, 0, 1, 0], 'gap, length, priority per run')
  const back = PriorityRuns.parse(r.render(10), 10, 26, 14)
  t.same([back.count, back.size, back.startAt(2), back.endAt(3), back.priorityAt(1)], [4, 14, 25, 26, 5])
  t.equal(PriorityRuns.parse([], 10, 9, 0).count, 0, 'an empty segment')
})

t.test('saved runs that do not describe the segment are refused', async t => {
  const good = [0, 10, 3, 0, 2, 5]
  t.doesNotThrow(() => PriorityRuns.parse(good, 10, 21, 12))
  const bad: Array<[string, unknown, number, number, RegExp]> = [
    ['not an array', 'x', 21, 12, /bad runs/],
    ['shape', [0, 10], 21, 12, /bad runs/],
    ['first gap', [1, 10, 3, 0, 2, 5], 22, 12, /bad run$/],
    ['negative gap', [0, 10, 3, -1, 2, 5], 20, 12, /bad run$/],
    ['empty run', [0, 0, 3, 0, 2, 5], 11, 2, /bad run$/],
    ['fraction', [0, 1.5, 3], 10, 1, /bad run$/],
    ['priority', [0, 10, 10, 0, 2, 5], 21, 12, /priority/],
    ['count', good, 21, 13, /summary/],
    ['last offset', good, 22, 12, /summary/],
    ['runs for an empty segment', good, 9, 0, /summary/],
  ]
  for (const [what, flat, last, count, re] of bad) t.throws(() => PriorityRuns.parse(flat, 10, last, count), re, what)
})
