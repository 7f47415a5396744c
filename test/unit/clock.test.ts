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

t.test('systemClock reads the wall time once per callback: the first read is kept until the microtasks that follow run', async t => {
  await new Promise<void>(resolve => setImmediate(resolve)) // a callback of our own: no read of the clock in it yet
  const first = systemClock.now()
  t.ok(Math.abs(first - Date.now()) <= 1, 'the first read is the wall time')
  const until = Date.now() + 3
  while (Date.now() < until) { /* let the wall time move on within this callback */ }
  t.equal(systemClock.now(), first, 'later reads in the same callback give the same time')
  await Promise.resolve() // the microtasks run: the kept time is forgotten
  const fresh = systemClock.now()
  t.ok(fresh >= until, `after them the clock reads the time again (${fresh} >= ${until})`)
  const keepAlive = setInterval(() => {}, 1000) // systemClock's timers are unref'd
  t.teardown(() => clearInterval(keepAlive))
  const inTimer = await new Promise<number>(resolve => {
    const before = Date.now()
    systemClock.after(1, () => resolve(systemClock.now() - before))
  })
  t.ok(inTimer >= 1, 'a timer callback reads fresh time')
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
