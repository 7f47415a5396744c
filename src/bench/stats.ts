/** Latency statistics from a (bounded) sample of values in milliseconds. */

export interface LatencySummary {
  count: number
  min: number
  mean: number
  p50: number
  p90: number
  p99: number
  max: number
}

/**
 * Nearest-rank percentile of an ascending-sorted array: the smallest value
 * such that at least p% of the values are <= it. Returns NaN for no values.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length
  if (n === 0) return NaN
  if (p <= 0) return sorted[0]!
  if (p >= 100) return sorted[n - 1]!
  const rank = Math.ceil((p / 100) * n)
  return sorted[Math.max(1, rank) - 1]!
}

/**
 * Records latency samples. Keeps every value up to `capacity`, then switches
 * to reservoir sampling (uniform sample of all values seen) so memory stays
 * bounded; count, min, max and mean are always exact.
 */
export class LatencyRecorder {
  private buf: Float64Array
  private n = 0
  private seen = 0
  private sum = 0
  private lo = Infinity
  private hi = -Infinity

  constructor(
    private readonly capacity = 1_000_000,
    private readonly random: () => number = Math.random,
  ) {
    this.buf = new Float64Array(Math.min(capacity, 65536))
  }

  record(v: number): void {
    this.seen++
    this.sum += v
    if (v < this.lo) this.lo = v
    if (v > this.hi) this.hi = v
    if (this.n < this.capacity) {
      if (this.n === this.buf.length) {
        const next = new Float64Array(Math.min(this.capacity, this.buf.length * 2))
        next.set(this.buf)
        this.buf = next
      }
      this.buf[this.n++] = v
      return
    }
    const j = Math.floor(this.random() * this.seen)
    if (j < this.capacity) this.buf[j] = v
  }

  get count(): number {
    return this.seen
  }

  summary(): LatencySummary {
    if (this.seen === 0) {
      return { count: 0, min: NaN, mean: NaN, p50: NaN, p90: NaN, p99: NaN, max: NaN }
    }
    const sorted = this.buf.slice(0, this.n).sort()
    return {
      count: this.seen,
      min: this.lo,
      mean: this.sum / this.seen,
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: this.hi,
    }
  }
}

/** Median of numbers (NaN ignored); NaN when there is none. */
export function median(values: number[]): number {
  const v = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b)
  if (v.length === 0) return NaN
  const mid = v.length >> 1
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2
}

/** Events per second; 0 when nothing happened or no time elapsed. */
export function rate(count: number, ms: number): number {
  return count > 0 && ms > 0 ? (count * 1000) / ms : 0
}

/** Wall-clock milliseconds (float) comparable across processes on the same host. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now()
}

/**
 * Open-loop pacing: how many events may have been sent `elapsedMs` after the
 * start at `ratePerSec` (one immediately). `ratePerSec` <= 0 means unlimited.
 */
export function paceAllowance(elapsedMs: number, ratePerSec: number): number {
  if (ratePerSec <= 0) return Infinity
  return Math.floor((Math.max(0, elapsedMs) * ratePerSec) / 1000) + 1
}
