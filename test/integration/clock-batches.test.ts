// The manager applies a session's lines in batches of the broker's Clock (batchStart … batchEnd), within
// which a clock may give every reading the first one's time (systemClock does): the events of one batch
// share a timestamp, and the next batch reads the time again.
import t from 'tap'
import { startTestBroker } from '../helpers/broker'
import { ManualClock } from '../helpers/clock'

/** A ManualClock whose every fresh reading is 1 ms later than the last; within a batch, one reading is kept. */
class SteppingClock extends ManualClock {
  depth = 0
  private steps = 0
  private kept = -1

  constructor () {
    super()
    const base = this.now
    this.now = (): number => {
      if (this.depth > 0 && this.kept >= 0) return this.kept
      const fresh = base() + ++this.steps
      if (this.depth > 0) this.kept = fresh
      return fresh
    }
  }

  batchStart = (): void => { this.depth++ }
  batchEnd = (): void => { if (--this.depth === 0) this.kept = -1 }
}

t.test('the lines of one read share the time of their batch; the next batch reads it again', async t => {
  const clock = new SteppingClock()
  const tb = await startTestBroker(t, {}, clock)
  const p = await tb.client()
  const s = await tb.client()
  t.equal(await s.request('create w'), 'OK created w')
  t.match(await s.request('sub w ack=none'), /^OK subscribed to w/)
  p.send('pub w {"msg":1}', 'pub w {"msg":2}', 'pub w {"msg":3}') // one write: one read, one batch
  for (let i = 0; i < 3; i++) t.match(await p.reply(), /^OK \d+ published to w/)
  const together = [await s.event(), await s.event(), await s.event()].map(e => e.event.timestamp as number)
  t.equal(new Set(together).size, 1, `one batch, one timestamp (${together.join(', ')})`)
  const apart: number[] = []
  for (let i = 4; i <= 6; i++) {
    t.match(await p.request(`pub w {"msg":${i}}`), /^OK \d+ published to w/) // a write and its reply each: a batch each
    apart.push((await s.event()).event.timestamp as number)
  }
  t.ok(apart[0] > together[0] && apart[1] > apart[0] && apart[2] > apart[1], `a new reading per batch (${apart.join(', ')})`)
  t.equal(clock.depth, 0, 'every batch ended')
})
