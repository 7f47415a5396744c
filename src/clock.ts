/** A scheduled callback that can be cancelled. */
export interface Timer {
  cancel: () => void
}

/**
 * The broker's only source of time: wall-clock milliseconds and timers.
 * Every deadline (ack timeouts, nack delays, flow-control holds, idle and
 * drain timeouts, the batcher and stats ticks) goes through one Clock, so a
 * test can drive time with a manual clock instead of sleeping.
 * Timers never keep the process alive on their own.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now: () => number
  /** Calls fn once, ms from now. */
  after: (ms: number, fn: () => void) => Timer
  /** Calls fn every ms until cancelled. */
  every: (ms: number, fn: () => void) => Timer
}

/** The real clock: Date.now and unref'd Node timers. */
export const systemClock: Clock = {
  now: Date.now,
  after (ms, fn) {
    const t = setTimeout(fn, ms)
    t.unref()
    return { cancel: () => clearTimeout(t) }
  },
  every (ms, fn) {
    const t = setInterval(fn, ms)
    t.unref()
    return { cancel: () => clearInterval(t) }
  },
}
