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
  /**
   * A batch of lines is being applied (Manager.work), until batchEnd(): now()
   * may give every reading in it the same time, the first one's. Optional:
   * a clock without it reads the time each time. Batches may nest.
   */
  batchStart?: () => void
  batchEnd?: () => void
}

/** Batches under way (batchStart without batchEnd yet), and the time read in them (-1: not read yet). */
let batches = 0
let batchNow = -1

/**
 * Date.now, read once per batch of lines (see Clock.batchStart): a pub read
 * the time once per event (~55 ns on the benchmark box, 3 % of a W1 event),
 * and a batch of a read's lines is applied well within the millisecond a
 * timestamp resolves. Outside a batch, every read is fresh.
 */
function readNow (): number {
  if (batches === 0) return Date.now()
  if (batchNow < 0) batchNow = Date.now()
  return batchNow
}

/** The real clock: wall time (read once per batch of lines: readNow) and unref'd Node timers. */
export const systemClock: Clock = {
  now: readNow,
  batchStart () {
    batches++
  },
  batchEnd () {
    if (--batches === 0) batchNow = -1
  },
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
