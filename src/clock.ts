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

/** The wall time read by the current callback, or -1 once its microtasks have run (see readNow). */
let turnNow = -1

function forgetNow (): void {
  turnNow = -1
}

/**
 * Date.now, read once per callback from the event loop: the first read in a
 * callback (a socket's data, a timer) is kept until the microtasks that follow
 * it run, which Node does after every such callback, so every later read sees
 * fresh time. Why: a pub read the time once per event (~55 ns on the benchmark
 * box, 3 % of a W1 event), and the events of one read are applied in one
 * callback, well within the millisecond a timestamp resolves. As Redis caches
 * its mstime per event-loop turn. Durations are measured with
 * performance.now(), never with this.
 */
function readNow (): number {
  if (turnNow < 0) {
    turnNow = Date.now()
    queueMicrotask(forgetNow)
  }
  return turnNow
}

/** The real clock: wall time read once per callback (readNow) and unref'd Node timers. */
export const systemClock: Clock = {
  now: readNow,
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
