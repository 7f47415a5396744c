import t from 'tap'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { RunSet } from '../../src/store/runSet'
import { PendingIndex } from '../../src/store/pendingIndex'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

function rng (seed: number): (n: number) => number {
  return (n) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n }
}

function runsOf (s: RunSet): Array<[number, number]> {
  const out: Array<[number, number]> = []
  s.forEachRun((a, b) => out.push([a, b]))
  return out
}

/** The canonical runs of a plain set: what a RunSet must hold. */
function runsOfSet (set: Set<number>): Array<[number, number]> {
  const xs = [...set].sort((a, b) => a - b)
  const out: Array<[number, number]> = []
  for (const x of xs) {
    const last = out[out.length - 1]
    if (last !== undefined && last[1] + 1 === x) last[1] = x
    else out.push([x, x])
  }
  return out
}

t.test('RunSet agrees with a plain Set under random adds, ranges, removes and shifts', async t => {
  const r = rng(7)
  const wrong: string[] = []
  for (let round = 0; round < 40; round++) {
    const s = new RunSet(round % 2 === 0 ? 1 : 4)
    const ref = new Set<number>()
    const span = 20 + r(300)
    for (let k = 0; k < 3000; k++) {
      const op = r(10)
      const x = r(span)
      if (op < 4) {
        if (s.add(x) !== !ref.has(x)) wrong.push(`add ${x}`)
        ref.add(x)
      } else if (op < 6) {
        if (s.remove(x) !== ref.has(x)) wrong.push(`remove ${x}`)
        ref.delete(x)
      } else if (op < 7) {
        const b = x + r(12)
        let fresh = 0
        for (let y = x; y <= b; y++) if (!ref.has(y)) { fresh++; ref.add(y) }
        if (s.addRange(x, b) !== fresh) wrong.push(`addRange ${x} ${b}`)
      } else if (op < 8) {
        const min = ref.size === 0 ? -1 : Math.min(...ref)
        if (s.shift() !== min) wrong.push('shift')
        ref.delete(min)
      } else {
        if (s.has(x) !== ref.has(x)) wrong.push(`has ${x}`)
      }
      if (k % 97 === 0) {
        if (JSON.stringify(runsOf(s)) !== JSON.stringify(runsOfSet(ref))) wrong.push(`runs at step ${k}`)
        if (s.size !== ref.size) wrong.push(`size at step ${k}`)
        if (s.first() !== (ref.size === 0 ? -1 : Math.min(...ref))) wrong.push(`first at step ${k}`)
        if (s.last() !== (ref.size === 0 ? -1 : Math.max(...ref))) wrong.push(`last at step ${k}`)
      }
    }
    t.same(runsOf(s), runsOfSet(ref), `round ${round}`)
    const c = s.clone()
    t.same(runsOf(c), runsOfSet(ref), 'a clone holds the same runs')
    c.add(span + 100)
    t.notOk(s.has(span + 100), 'and is independent')
  }
  t.same(wrong, [], '120,000 random operations agree with the reference')
})

t.test('RunSet as a queue of separate runs: appends past the end (growing, or sliding down into the drained front) and shifts', async t => {
  const s = new RunSet(1)
  const ref = new Set<number>()
  const wrong: string[] = []
  let next = 0
  for (let k = 0; k < 5000; k++) {
    // Like one priority of W2: every tenth offset, so each add starts a run at the end.
    const burst = 1 + (k % 7)
    for (let i = 0; i < burst; i++) { next += 10; s.add(next); ref.add(next) }
    const take = k % 3 === 0 ? burst + 2 : burst - 1
    for (let i = 0; i < take && ref.size > 0; i++) {
      const min = Math.min(...ref)
      if (s.shift() !== min) wrong.push(`shift at step ${k}`)
      ref.delete(min)
    }
    if (k % 101 === 0 && JSON.stringify(runsOf(s)) !== JSON.stringify(runsOfSet(ref))) wrong.push(`runs at step ${k}`)
  }
  t.same(wrong, [])
  t.same(runsOf(s), runsOfSet(ref))
  t.equal(s.size, ref.size)
  t.equal(s.runCount, ref.size, 'one run per offset')
})

t.test('RunSet: edge cases of merging and splitting', async t => {
  const s = new RunSet()
  t.equal(s.addRange(5, 4), 0, 'an empty range adds nothing')
  t.equal(s.shift(), -1)
  t.equal(s.first(), -1)
  s.addRange(10, 20)
  s.addRange(30, 40)
  s.addRange(50, 60)
  t.equal(s.addRange(15, 55), 18, 'one range bridging three runs adds only the gaps')
  t.same(runsOf(s), [[10, 60]])
  t.ok(s.remove(35))
  t.same(runsOf(s), [[10, 34], [36, 60]], 'a removal in the middle splits a run')
  t.ok(s.add(35))
  t.same(runsOf(s), [[10, 60]], 'and the add joins it again')
  t.notOk(s.remove(9))
  t.notOk(s.remove(61))
  s.add(5)
  s.add(7)
  s.addRange(1, 3)
  t.same(runsOf(s), [[1, 3], [5, 5], [7, 7], [10, 60]])
  const missing = 71 - s.size
  t.equal(s.addRange(0, 70), missing, 'a range over everything')
  t.same(runsOf(s), [[0, 70]])
})

t.test('PendingIndex: highest priority first, lowest offset within a priority; drop-oldest takes the lowest priority', async t => {
  const ix = new PendingIndex()
  const pri = [0, 5, 0, 9, 5, 0, 9, 1]
  pri.forEach((p, i) => ix.add(i + 1, p))
  t.equal(ix.size, 8)
  t.equal(ix.peek(), 4)
  t.equal(ix.lowestOffset(), 1)
  t.equal(ix.shiftLowest(), 1)
  t.equal(ix.lastPriority, 0)
  const order: Array<[number, number]> = []
  for (let x = ix.shift(); x !== -1; x = ix.shift()) order.push([x, ix.lastPriority])
  t.same(order, [[4, 9], [7, 9], [2, 5], [5, 5], [8, 1], [3, 0], [6, 0]])
  t.equal(ix.size, 0)
  t.equal(ix.peek(), -1)
  t.equal(ix.shiftLowest(), -1)
  t.equal(ix.lowestOffset(), -1)
  t.throws(() => ix.add(1, 10), RangeError)
  t.throws(() => ix.add(1, 1.5), RangeError)
})

t.test('PendingIndex: remove, removeAny, has, ranges, runs, clone', async t => {
  const ix = new PendingIndex()
  t.equal(ix.addRange(1, 100, 0), 100)
  t.equal(ix.addRange(101, 110, 7), 10)
  t.notOk(ix.add(50, 0), 'already there')
  t.ok(ix.has(105))
  t.notOk(ix.has(111))
  t.equal(ix.removeAny(105), 7)
  t.equal(ix.removeAny(105), -1)
  t.notOk(ix.remove(50, 7), 'not at that priority')
  t.ok(ix.remove(50, 0))
  t.equal(ix.countAt(0), 99)
  t.equal(ix.countAt(7), 9)
  t.equal(ix.runCount, 4)
  const runs: Array<[number, number, number]> = []
  ix.forEachRun((p, s, e) => runs.push([p, s, e]))
  t.same(runs, [[7, 101, 104], [7, 106, 110], [0, 1, 49], [0, 51, 100]])
  const c = ix.clone()
  for (let i = 0; i < 20; i++) ix.shift()
  t.equal(c.size, 108)
  t.equal(c.peek(), 101, 'the clone did not move')
  t.equal(ix.peek(), 12, 'nine taken at priority 7, then 1-11 at priority 0')
})

t.test('PendingIndex agrees with a sorted reference under random traffic', async t => {
  const r = rng(99)
  const ix = new PendingIndex()
  const ref = new Map<number, number>() // offset -> priority
  let next = 1
  const wrong: string[] = []
  for (let k = 0; k < 20000; k++) {
    const op = r(10)
    if (op < 5) {
      const p = r(3) === 0 ? r(10) : 0
      ix.add(next, p)
      ref.set(next++, p)
    } else if (op < 8) {
      let best = -1
      for (const [o, p] of ref) if (best === -1 || p > ref.get(best)! || (p === ref.get(best) && o < best)) best = o
      if (ix.shift() !== best) wrong.push(`shift at ${k}`)
      if (best !== -1) { if (ix.lastPriority !== ref.get(best)) wrong.push(`priority at ${k}`); ref.delete(best) }
    } else {
      const o = 1 + r(next)
      if (ix.removeAny(o) !== (ref.has(o) ? ref.get(o)! : -1)) wrong.push(`removeAny ${o}`)
      ref.delete(o)
    }
    if (ix.size !== ref.size) wrong.push(`size at ${k}`)
  }
  t.same(wrong, [])
  t.ok(ref.size > 0)
})

function arrayBufferBytes (): number {
  gc()
  return process.memoryUsage().arrayBuffers
}

t.test('memory: 10,000,000 pending offsets in one run cost a few hundred bytes', async t => {
  const before = arrayBufferBytes()
  const ix = new PendingIndex()
  const t0 = performance.now()
  for (let o = 1; o <= 10_000_000; o++) ix.add(o, 0)
  const ms = performance.now() - t0
  const used = arrayBufferBytes() - before
  t.equal(ix.size, 10_000_000)
  t.equal(ix.runCount, 1)
  t.ok(ix.byteSize <= 128, `run arrays: ${ix.byteSize} B`)
  t.ok(used < 64 * 1024, `measured ${used} B of array buffers for 10M pending`)
  t.comment(`10M appends in ${ms.toFixed(0)} ms; ${ix.byteSize} B of runs; measured ${used} B`)
  for (let o = 1; o <= 10_000_000; o++) if (ix.shift() !== o) { t.fail(`shift gave the wrong offset at ${o}`); break }
  t.equal(ix.size, 0)
})

t.test('memory: sparse acks (every other offset of 10,000,000 removed) stay far under 100 B per pending offset', async t => {
  const before = arrayBufferBytes()
  const ix = new PendingIndex()
  ix.addRange(1, 10_000_000, 0)
  const t0 = performance.now()
  for (let o = 2; o <= 10_000_000; o += 2) ix.remove(o, 0)
  const ms = performance.now() - t0
  const used = arrayBufferBytes() - before
  t.equal(ix.size, 5_000_000)
  t.equal(ix.runCount, 5_000_000)
  const perEntry = used / ix.size
  t.ok(ix.byteSize / ix.size <= 40, `run arrays: ${(ix.byteSize / ix.size).toFixed(1)} B per pending offset`)
  t.ok(perEntry <= 40, `measured ${perEntry.toFixed(1)} B per pending offset`)
  t.comment(`5M removals in ${ms.toFixed(0)} ms; ${(ix.byteSize / 1048576).toFixed(1)} MiB of runs; measured ${(used / 1048576).toFixed(1)} MiB, ${perEntry.toFixed(1)} B per pending offset`)
  // Draining gives the memory back.
  while (ix.shift() !== -1);
  t.ok(ix.byteSize <= 64 * 16 * 2, `drained: ${ix.byteSize} B`)
})

t.test('memory: mixed priorities (a random one of ten per event) still fit the 100 B budget', async t => {
  const r = rng(3)
  const before = arrayBufferBytes()
  const ix = new PendingIndex()
  for (let o = 1; o <= 2_000_000; o++) ix.add(o, r(10))
  const used = arrayBufferBytes() - before
  t.ok(ix.byteSize / ix.size <= 40, `run arrays: ${(ix.byteSize / ix.size).toFixed(1)} B per pending offset (${ix.runCount} runs)`)
  t.ok(used / ix.size <= 40, `measured at most ${(used / ix.size).toFixed(1)} B per pending offset`)
  t.comment(`2M events, random priority: ${ix.runCount} runs, ${(ix.byteSize / ix.size).toFixed(1)} B of runs per pending offset`)
})

t.test('forEachIn visits the offsets held in a range, each priority in turn', async t => {
  const { PendingIndex } = await import('../../src/store/pendingIndex')
  const p = new PendingIndex()
  p.addRange(1, 10, 0)
  p.addRange(20, 30, 0)
  p.add(15, 9)
  p.add(40, 9)
  p.add(5, 3)
  const seen: number[] = []
  p.forEachIn(8, 21, o => seen.push(o))
  t.same(seen.sort((a, b) => a - b), [8, 9, 10, 15, 20, 21])
  const none: number[] = []
  p.forEachIn(41, 100, o => none.push(o))
  t.same(none, [])
  const all: number[] = []
  p.forEachIn(0, 100, o => all.push(o))
  t.equal(all.length, p.size)
})
