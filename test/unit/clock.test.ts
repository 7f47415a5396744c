import t from 'tap'
import { systemClock } from '../../src/clock'
import { ManualClock } from '../helpers/clock'

t.test('systemClock: wall time, one-shot and repeating timers that can be cancelled', async t => {
  const keepAlive = setInterval(() => {}, 1000) // systemClock's timers are unref'd: something must hold the loop open
  t.teardown(() => clearInterval(keepAlive))
  const before = Date.now()
  t.ok(systemClock.now() >= before)
  await new Promise<void>(resolve => { systemClock.after(1, resolve) })
  let ticks = 0
  await new Promise<void>(resolve => {
    const timer = systemClock.every(1, () => { if (++ticks === 3) { timer.cancel(); resolve() } })
  })
  t.equal(ticks, 3)
  let fired = false
  systemClock.after(1, () => { fired = true }).cancel()
  await new Promise<void>(resolve => { systemClock.after(5, resolve) })
  t.notOk(fired, 'a cancelled timer never fires')
})

t.test('systemClock reads the wall time once per batch of lines, and afresh outside one', async t => {
  const waitFor = (ms: number): number => {
    const until = Date.now() + ms
    while (Date.now() < until) { /* let the wall time move on */ }
    return until
  }
  const a = systemClock.now()
  const movedTo = waitFor(2)
  t.ok(systemClock.now() >= movedTo, 'outside a batch every reading is fresh')
  systemClock.batchStart!()
  const first = systemClock.now()
  t.ok(first >= movedTo && first <= Date.now(), 'the first reading in a batch is the wall time')
  waitFor(3)
  t.equal(systemClock.now(), first, 'later readings in the batch give the same time')
  systemClock.batchStart!() // a batch inside it (a session scheduled by another's line)
  t.equal(systemClock.now(), first, 'so do readings in a nested batch')
  systemClock.batchEnd!()
  t.equal(systemClock.now(), first, 'and after it, until the outer batch ends')
  systemClock.batchEnd!()
  const after = waitFor(1)
  t.ok(systemClock.now() >= after, 'after the batch the clock reads the time again')
  systemClock.batchStart!()
  t.ok(systemClock.now() >= after, 'and the next batch takes a new reading')
  systemClock.batchEnd!()
  t.ok(a <= first)
  const now = systemClock.now
  t.equal(typeof now(), 'number', 'now works unbound (passed around as a function)')
})

t.test('ManualClock: timers fire in deadline order, reading their own deadline', async t => {
  const clock = new ManualClock(1000)
  const seen: string[] = []
  clock.after(30, () => seen.push(`b@${clock.now()}`))
  clock.after(10, () => seen.push(`a@${clock.now()}`))
  const every = clock.every(20, () => seen.push(`e@${clock.now()}`))
  clock.advance(9)
  t.same(seen, [])
  clock.advance(31)
  t.same(seen, ['a@1010', 'e@1020', 'b@1030', 'e@1040'])
  every.cancel()
  clock.advance(100)
  t.equal(seen.length, 4)
  t.equal(clock.now(), 1140)
  t.equal(clock.pending, 0)
})
