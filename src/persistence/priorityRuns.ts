/**
 * The offsets of one segment's lines as runs of consecutive offsets of one
 * priority, in offset order: `[start, end, priority]` triples in a
 * Float64Array. A segment published in one priority is one run whatever its
 * length. With these, what a replay (`sub … from=`) owes is listed from the
 * index alone, without reading a single event (SegmentLog.listRuns).
 *
 * Saved in the segment's index file as `runs`: per run its gap after the
 * previous run (0 when contiguous), its length, its priority. The writer
 * (SegmentIndex.render) and the reader (SegmentIndex.parse) use this one codec.
 */
export class PriorityRuns {
  /** Runs held. */
  count = 0
  /** Offsets covered (the segment's line count). */
  size = 0
  private a: Float64Array

  constructor (capacity = 4) {
    this.a = new Float64Array(capacity * 3)
  }

  /** Notes the next line (offsets ascending): extends the last run or starts one. */
  note (offset: number, priority: number): void {
    const n = this.count
    if (n > 0) {
      const k = 3 * (n - 1)
      if (this.a[k + 1] === offset - 1 && this.a[k + 2] === priority) { this.a[k + 1] = offset; this.size++; return }
    }
    if (3 * n === this.a.length) {
      const b = new Float64Array(this.a.length * 2)
      b.set(this.a)
      this.a = b
    }
    this.a[3 * n] = offset
    this.a[3 * n + 1] = offset
    this.a[3 * n + 2] = priority
    this.count = n + 1
    this.size++
  }

  startAt (i: number): number { return this.a[3 * i] }
  endAt (i: number): number { return this.a[3 * i + 1] }
  priorityAt (i: number): number { return this.a[3 * i + 2] }

  /** Index of the first run that ends at or after `offset` (count when none). */
  findFrom (offset: number): number {
    let lo = 0
    let hi = this.count - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      if (this.a[3 * mid + 1] < offset) lo = mid + 1
      else hi = mid - 1
    }
    return lo
  }

  get byteSize (): number {
    return this.a.byteLength
  }

  /** The saved form: `[gap, length, priority]` per run, flat. */
  render (firstOffset: number): number[] {
    const flat: number[] = new Array(this.count * 3)
    let next = firstOffset
    for (let i = 0; i < this.count; i++) {
      const s = this.a[3 * i]
      const e = this.a[3 * i + 1]
      flat[3 * i] = s - next
      flat[3 * i + 1] = e - s + 1
      flat[3 * i + 2] = this.a[3 * i + 2]
      next = e + 1
    }
    return flat
  }

  /**
   * Reads the saved form back; throws unless it covers exactly `count` lines
   * from `firstOffset` to `lastOffset` with priorities 0–9 (then the caller
   * does without: a stale or foreign index is never trusted).
   */
  static parse (flat: unknown, firstOffset: number, lastOffset: number, count: number): PriorityRuns {
    if (!Array.isArray(flat) || flat.length % 3 !== 0) throw new Error('bad runs')
    const n = flat.length / 3
    const r = new PriorityRuns(Math.max(1, n))
    let next = firstOffset
    for (let i = 0; i < n; i++) {
      const gap = flat[3 * i] as number
      const len = flat[3 * i + 1] as number
      const p = flat[3 * i + 2] as number
      if (!Number.isSafeInteger(gap) || !Number.isSafeInteger(len) || gap < 0 || len < 1 || (i === 0 && gap !== 0)) throw new Error('bad run')
      if (!(Number.isInteger(p) && p >= 0 && p <= 9)) throw new Error('bad run priority')
      const s = next + gap
      r.a[3 * i] = s
      r.a[3 * i + 1] = s + len - 1
      r.a[3 * i + 2] = p
      r.size += len
      next = s + len
    }
    r.count = n
    if (r.size !== count || (n > 0 && next - 1 !== lastOffset)) throw new Error('runs do not match the summary')
    return r
  }
}
