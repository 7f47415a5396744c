import t from 'tap'
import { PriorityRuns } from '../../src/persistence/priorityRuns'

function all (r: PriorityRuns): number[][] {
  const out: number[][] = []
  r.forEach((s, e, p) => out.push([s, e, p]))
  return out
}

t.test('runs of consecutive offsets of one priority; a gap or another priority starts a run', async t => {
  const r = new PriorityRuns(1)
  for (let o = 10; o <= 19; o++) r.note(o, 3)
  r.note(20, 5)
  r.note(21, 5)
  r.note(25, 5) // a gap
  r.note(26, 0)
  t.equal(r.count, 4)
  t.equal(r.size, 14)
  t.same(all(r), [[10, 19, 3], [20, 21, 5], [25, 25, 5], [26, 26, 0]])
  let out: number[] = []
  t.equal(r.collect(15, 25, 10, out), 26, 'done: past the end of the range')
  t.same(out, [15, 19, 3, 20, 21, 5, 25, 25, 5], 'clipped to the range')
  out = []
  t.equal(r.collect(0, 100, 2, out), 25, 'two runs, then carry on from the third')
  t.same(out, [10, 19, 3, 20, 21, 5])
  out = []
  t.equal(r.collect(22, 24, 10, out), 25, 'a range in a gap')
  t.same(out, [])
  t.same(r.render(10), [0, 10, 3, 0, 2, 5, 3, 1, 5, 0, 1, 0], 'gap, length, priority per run')
  const back = PriorityRuns.parse(r.render(10), 10, 26, 14)
  t.same(all(back), all(r))
  back.note(27, 0)
  t.same(all(back).pop(), [26, 27, 0], 'a parsed index goes on extending its last run')
  t.equal(PriorityRuns.parse([], 10, 9, 0).count, 0, 'an empty segment')
})

t.test('priorities mixed event by event: a byte per offset, not 24 per run; the same runs come out', async t => {
  const r = new PriorityRuns()
  const expected: number[][] = []
  const prio = (o: number): number => (o * 7) % 10
  for (let o = 1; o <= 10000; o++) {
    if (o % 1000 === 500) continue // a few offsets without a line
    r.note(o, prio(o))
    const last = expected[expected.length - 1]
    if (last !== undefined && last[1] === o - 1 && last[2] === prio(o)) last[1] = o
    else expected.push([o, o, prio(o)])
  }
  t.same(all(r), expected)
  t.equal(r.count, expected.length)
  t.equal(r.size, 9990)
  t.ok(r.byteSize <= 2 * 10000, `about a byte per offset: ${r.byteSize} bytes for ${r.count} runs`)
  const out: number[] = []
  t.equal(r.collect(498, 502, 100, out), 503)
  t.same(out, [498, 498, prio(498), 499, 499, prio(499), 501, 501, prio(501), 502, 502, prio(502)], 'offset 500 has no line')
  out.length = 0
  t.equal(r.collect(1, 10000, 3, out), 4, 'at most maxRuns')
  const back = PriorityRuns.parse(r.render(1), 1, 10000, 9990)
  t.same(all(back), expected, 'saved and read back')
  t.ok(back.byteSize <= 2 * 10000, `read back as a byte per offset too: ${back.byteSize} bytes`)
  back.note(10001, 3)
  t.same(all(back).pop(), [10001, 10001, 3], 'and goes on noting lines')
  // A long gap: back to triples (a byte per skipped offset would cost more).
  r.note(20000, 1)
  r.note(20001, 1)
  t.same(all(r).slice(-2), [[10000, 10000, prio(10000)], [20000, 20001, 1]])
  t.equal(r.size, 9992)
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
