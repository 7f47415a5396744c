import type { Clock, Timer } from '../../src/clock'

interface Scheduled {
  due: number
  /** 0 for a one-shot timer. */
  every: number
  fn: () => void
  seq: number
  cancelled: boolean
}

/**
 * A clock that moves only when the test says so. advance(ms) runs every timer
 * that falls due, in deadline order, with now() reading each timer's own
 * deadline while it runs: a test of ack timeouts or nack delays needs no sleeps.
 */
export class ManualClock implements Clock {
  private current: number
  private timers: Scheduled[] = []
  private seq = 0

  constructor (start = 1_700_000_000_000) {
    this.current = start
  }

  now = (): number => this.current

  after = (ms: number, fn: () => void): Timer => this.schedule(ms, 0, fn)

  every = (ms: number, fn: () => void): Timer => this.schedule(ms, Math.max(1, ms), fn)

  /** Timers not yet cancelled or fired (for tests of the clock itself). */
  get pending (): number {
    return this.timers.filter(t => !t.cancelled).length
  }

  /** Moves time forward by ms, firing what falls due on the way. */
  advance (ms: number): void {
    const end = this.current + ms
    for (;;) {
      let next: Scheduled | undefined
      for (const t of this.timers) {
        if (t.cancelled || t.due > end) continue
        if (next === undefined || t.due < next.due || (t.due === next.due && t.seq < next.seq)) next = t
      }
      if (next === undefined) break
      this.current = Math.max(this.current, next.due)
      if (next.every > 0) next.due += next.every
      else next.cancelled = true
      next.fn()
    }
    this.current = end
    this.timers = this.timers.filter(t => !t.cancelled)
  }

  private schedule (ms: number, every: number, fn: () => void): Timer {
    const t: Scheduled = { due: this.current + Math.max(0, ms), every, fn, seq: this.seq++, cancelled: false }
    this.timers.push(t)
    return { cancel: () => { t.cancelled = true } }
  }
}
