/** A dense slot with no line (an offset the segment skips). */
const NONE = 0xff
/** Runs kept as triples up to this many; past it, when runs are short (priorities mixed event by event), one byte per offset instead. */
const DENSE_AFTER = 64
/** A dense map takes back its triples at a gap longer than this (a byte per skipped offset would cost more). */
const MAX_DENSE_GAP = 4096

/**
 * The offsets of one segment's lines as runs of consecutive offsets of one
 * priority, in offset order. A segment published in one priority is one run
 * whatever its length. With these, what a replay (`sub … from=`) owes is
 * listed from the index alone, without reading a single event
 * (SegmentLog.listRuns).
 *
 * In memory: `[start, end, priority]` triples in a Float64Array (24 bytes a
 * run), or, once there are many short runs (priorities mixed event by
 * event), one byte per offset from the first (the priority, 0xff for an
 * offset with no line): never more than about a byte per line.
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
  private a: Float64Array | null
  private dense: Uint8Array | null = null
  /** The offset of dense[0]; dense[0, span) are in use. */
  private base = 0
  private span = 0
  private last = -1
  private lastPriority = -1

  constructor (capacity = 4) {
    this.a = new Float64Array(capacity * 3)
  }

  /** Notes the next line (offsets ascending): extends the last run or starts one. */
  note (offset: number, priority: number): void {
    const extends_ = this.count > 0 && offset === this.last + 1 && priority === this.lastPriority
    if (this.dense !== null && offset - this.last - 1 > MAX_DENSE_GAP) this.toTriples()
    if (this.dense !== null) {
      const i = offset - this.base
      if (i >= this.dense.length) this.growDense(i + 1)
      this.dense.fill(NONE, this.span, i)
      this.dense[i] = priority
      this.span = i + 1
    } else {
      const a = this.a!
      if (extends_) {
        a[3 * (this.count - 1) + 1] = offset
      } else {
        let b = a
        if (3 * this.count === a.length) {
          b = new Float64Array(a.length * 2)
          b.set(a)
          this.a = b
        }
        b[3 * this.count] = offset
        b[3 * this.count + 1] = offset
        b[3 * this.count + 2] = priority
      }
    }
    if (!extends_) this.count++
    this.size++
    this.last = offset
    this.lastPriority = priority
    if (this.dense === null && !extends_ && this.count > DENSE_AFTER && this.size < 4 * this.count) this.toDense()
  }

  /** Calls fn for every run, in offset order. */
  forEach (fn: (start: number, end: number, priority: number) => void): void {
    this.collectFrom(-Infinity, Infinity, Infinity, fn)
  }

  /**
   * The runs (clipped) that hold offsets in [from, to], at most `maxRuns` of
   * them, pushed to `out` as `start, end, priority`; returns the offset to
   * carry on from (past `to` when every one was given).
   */
  collect (from: number, to: number, maxRuns: number, out: number[]): number {
    return this.collectFrom(from, to, maxRuns, (s, e, p) => { out.push(s, e, p) })
  }

  get byteSize (): number {
    return this.a !== null ? this.a.byteLength : this.dense!.byteLength
  }

  /** The saved form: `[gap, length, priority]` per run, flat. */
  render (firstOffset: number): number[] {
    const flat: number[] = []
    let next = firstOffset
    this.forEach((s, e, p) => {
      flat.push(s - next, e - s + 1, p)
      next = e + 1
    })
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
    const a = r.a!
    let next = firstOffset
    for (let i = 0; i < n; i++) {
      const gap = flat[3 * i] as number
      const len = flat[3 * i + 1] as number
      const p = flat[3 * i + 2] as number
      if (!Number.isSafeInteger(gap) || !Number.isSafeInteger(len) || gap < 0 || len < 1 || (i === 0 && gap !== 0)) throw new Error('bad run')
      if (!(Number.isInteger(p) && p >= 0 && p <= 9)) throw new Error('bad run priority')
      const s = next + gap
      a[3 * i] = s
      a[3 * i + 1] = s + len - 1
      a[3 * i + 2] = p
      r.size += len
      next = s + len
    }
    r.count = n
    if (r.size !== count || (n > 0 && next - 1 !== lastOffset)) throw new Error('runs do not match the summary')
    if (n > 0) { r.last = next - 1; r.lastPriority = a[3 * n - 1] }
    if (n > DENSE_AFTER && r.size < 4 * n) r.toDense() // an active segment read back keeps to about a byte per line
    return r
  }

  private collectFrom (from: number, to: number, maxRuns: number, fn: (start: number, end: number, priority: number) => void): number {
    let given = 0
    const a = this.a
    if (a !== null) {
      let lo = 0
      let hi = this.count - 1
      while (lo <= hi) { // the first run that ends at or after `from`
        const mid = (lo + hi) >>> 1
        if (a[3 * mid + 1] < from) lo = mid + 1
        else hi = mid - 1
      }
      for (let k = lo; k < this.count; k++) {
        const s = Math.max(a[3 * k], from)
        if (s > to) break
        if (given === maxRuns) return s
        const e = Math.min(a[3 * k + 1], to)
        fn(s, e, a[3 * k + 2])
        given++
      }
      return to + 1
    }
    const d = this.dense!
    const end = Math.min(this.span, to - this.base + 1)
    let i = Math.max(0, from - this.base)
    while (i < end) {
      const p = d[i]
      if (p === NONE) { i++; continue }
      if (given === maxRuns) return this.base + i
      let j = i + 1
      while (j < end && d[j] === p) j++
      fn(this.base + i, this.base + j - 1, p)
      given++
      i = j
    }
    return to + 1
  }

  private toDense (): void {
    const a = this.a!
    const first = a[0]
    this.base = first
    this.span = 0
    this.dense = new Uint8Array(Math.max(1024, 2 * (this.last - first + 1)))
    this.dense.fill(NONE)
    for (let k = 0; k < this.count; k++) this.dense.fill(a[3 * k + 2], a[3 * k] - first, a[3 * k + 1] - first + 1)
    this.span = this.last - first + 1
    this.a = null
  }

  private toTriples (): void {
    const runs: number[] = []
    this.forEach((s, e, p) => { runs.push(s, e, p) })
    this.a = new Float64Array(Math.max(12, runs.length * 2))
    this.a.set(runs)
    this.dense = null
  }

  private growDense (min: number): void {
    const b = new Uint8Array(Math.max(min, this.dense!.length * 2))
    b.set(this.dense!.subarray(0, this.span))
    this.dense = b
  }
}
