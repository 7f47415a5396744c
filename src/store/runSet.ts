/**
 * A set of integers (event offsets) kept as sorted, disjoint runs
 * `[start, end]` in two Float64Arrays: 16 bytes per run however long the run,
 * so a contiguous backlog of ten million offsets is one run. Adding past the
 * end and removing the first element are O(1) with no allocation (the usual
 * traffic of a queue); anything in the middle is a binary search plus a move
 * of the shorter side of the arrays.
 */
export class RunSet {
  /** How many integers the set holds. */
  size = 0
  private starts: Float64Array
  private ends: Float64Array
  /** Live runs are [head, tail). */
  private head = 0
  private tail = 0

  constructor (capacity = 4) {
    this.starts = new Float64Array(capacity)
    this.ends = new Float64Array(capacity)
  }

  get runCount (): number {
    return this.tail - this.head
  }

  /** Bytes held by the run arrays. */
  get byteSize (): number {
    return this.starts.byteLength + this.ends.byteLength
  }

  /** The smallest member, or -1 when empty. */
  first (): number {
    return this.tail > this.head ? this.starts[this.head] : -1
  }

  /** The largest member, or -1 when empty. */
  last (): number {
    return this.tail > this.head ? this.ends[this.tail - 1] : -1
  }

  has (x: number): boolean {
    const i = this.find(x)
    return i >= this.head && x <= this.ends[i]
  }

  /** Adds x; false when it was already there. */
  add (x: number): boolean {
    const t = this.tail
    if (t > this.head) {
      const lastEnd = this.ends[t - 1]
      if (x === lastEnd + 1) { this.ends[t - 1] = x; this.size++; return true }
      if (x > lastEnd) { this.insert(t, x, x); this.size++; return true }
    } else {
      this.insert(t, x, x)
      this.size++
      return true
    }
    const i = this.find(x)
    if (i >= this.head && x <= this.ends[i]) return false
    const joinsLeft = i >= this.head && this.ends[i] + 1 === x
    const joinsRight = i + 1 < this.tail && this.starts[i + 1] - 1 === x
    if (joinsLeft && joinsRight) {
      this.ends[i] = this.ends[i + 1]
      this.delete(i + 1)
    } else if (joinsLeft) {
      this.ends[i] = x
    } else if (joinsRight) {
      this.starts[i + 1] = x
    } else {
      this.insert(i + 1, x, x)
    }
    this.size++
    return true
  }

  /** Adds every integer of [a, b]; returns how many were new. */
  addRange (a: number, b: number): number {
    if (b < a) return 0
    const t = this.tail
    if (t === this.head || a > this.ends[t - 1] + 1) {
      this.insert(t, a, b)
      this.size += b - a + 1
      return b - a + 1
    }
    if (a === this.ends[t - 1] + 1) {
      this.ends[t - 1] = b
      this.size += b - a + 1
      return b - a + 1
    }
    // General case: merge every run that overlaps or touches [a, b] into one.
    let lo = this.find(a - 1)
    if (lo < this.head || this.ends[lo] < a - 1) lo++
    const hi = this.find(b + 1)
    if (lo > hi) {
      this.insert(lo, a, b)
      this.size += b - a + 1
      return b - a + 1
    }
    let before = 0
    for (let k = lo; k <= hi; k++) before += this.ends[k] - this.starts[k] + 1
    const s = Math.min(a, this.starts[lo])
    const e = Math.max(b, this.ends[hi])
    this.starts[lo] = s
    this.ends[lo] = e
    this.deleteRange(lo + 1, hi + 1)
    const added = (e - s + 1) - before
    this.size += added
    return added
  }

  /** Removes x; false when it was not there. */
  remove (x: number): boolean {
    const h = this.head
    const t = this.tail
    if (t === h) return false
    if (x === this.starts[h]) { this.shift(); return true }
    // Acks and drops land near the newest offsets as often as the oldest: try the last run before searching.
    const i = x >= this.starts[t - 1] ? t - 1 : this.find(x)
    if (i < h || x > this.ends[i]) return false
    const s = this.starts[i]
    const e = this.ends[i]
    if (s === e) this.delete(i)
    else if (x === s) this.starts[i] = x + 1
    else if (x === e) this.ends[i] = x - 1
    else {
      this.ends[i] = x - 1
      this.insert(i + 1, x + 1, e)
    }
    this.size--
    return true
  }

  /** Removes and returns the smallest member; -1 when empty. O(1). */
  shift (): number {
    const h = this.head
    if (this.tail === h) return -1
    const x = this.starts[h]
    if (x === this.ends[h]) {
      this.head = h + 1
      if (this.head === this.tail) this.head = this.tail = 0
      this.maybeShrink()
    } else {
      this.starts[h] = x + 1
    }
    this.size--
    return x
  }

  /** Start of the i-th run (0-based, in order): with endAt, a walk that can stop and resume anywhere. */
  startAt (i: number): number {
    return this.starts[this.head + i]
  }

  endAt (i: number): number {
    return this.ends[this.head + i]
  }

  /** Calls fn for every run, in order. */
  forEachRun (fn: (start: number, end: number) => void): void {
    for (let i = this.head; i < this.tail; i++) fn(this.starts[i], this.ends[i])
  }

  /** An independent copy (a snapshot image): two typed-array copies, no per-run work. */
  clone (): RunSet {
    const c = new RunSet(Math.max(4, this.runCount))
    c.starts.set(this.starts.subarray(this.head, this.tail))
    c.ends.set(this.ends.subarray(this.head, this.tail))
    c.tail = this.runCount
    c.size = this.size
    return c
  }

  /** Index of the last run whose start is <= x, or head - 1 when none. */
  private find (x: number): number {
    let lo = this.head
    let hi = this.tail - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      if (this.starts[mid] <= x) lo = mid + 1
      else hi = mid - 1
    }
    return hi
  }

  /** Inserts run [s, e] before index p, moving whichever side is shorter. */
  private insert (p: number, s: number, e: number): void {
    if (p === this.tail) {
      // Appending (a queue's usual traffic; every event of W2's ten priorities starts a run): nothing to move. Two
      // empty copyWithin calls here were ~1% of a W2 profile.
      if (p === this.starts.length) {
        this.grow()
        p = this.tail
      }
      this.starts[p] = s
      this.ends[p] = e
      this.tail = p + 1
      return
    }
    if (this.head > 0 && p - this.head < this.tail - p) {
      this.starts.copyWithin(this.head - 1, this.head, p)
      this.ends.copyWithin(this.head - 1, this.head, p)
      this.head--
      p--
    } else {
      if (this.tail === this.starts.length) {
        this.grow()
        p -= this.headShift
      }
      this.starts.copyWithin(p + 1, p, this.tail)
      this.ends.copyWithin(p + 1, p, this.tail)
      this.tail++
    }
    this.starts[p] = s
    this.ends[p] = e
  }

  /** How far the last grow() moved the runs down (to index 0). */
  private headShift = 0

  private grow (): void {
    const n = this.tail - this.head
    // Runs drained from the front leave room: slide down instead of growing when half is free.
    const cap = this.head >= this.starts.length / 2 ? this.starts.length : this.starts.length * 2
    this.resize(cap, n)
  }

  private resize (cap: number, n: number): void {
    const starts = new Float64Array(cap)
    const ends = new Float64Array(cap)
    starts.set(this.starts.subarray(this.head, this.tail))
    ends.set(this.ends.subarray(this.head, this.tail))
    this.headShift = this.head
    this.starts = starts
    this.ends = ends
    this.head = 0
    this.tail = n
  }

  private delete (p: number): void {
    this.deleteRange(p, p + 1)
  }

  /** Deletes runs [p, q), moving whichever side is shorter. */
  private deleteRange (p: number, q: number): void {
    if (q <= p) return
    const k = q - p
    if (p - this.head < this.tail - q) {
      this.starts.copyWithin(this.head + k, this.head, p)
      this.ends.copyWithin(this.head + k, this.head, p)
      this.head += k
    } else {
      this.starts.copyWithin(p, q, this.tail)
      this.ends.copyWithin(p, q, this.tail)
      this.tail -= k
    }
    if (this.head === this.tail) this.head = this.tail = 0
    this.maybeShrink()
  }

  /** A drained backlog gives its memory back: shrink when a quarter or less is used. */
  private maybeShrink (): void {
    const n = this.tail - this.head
    const cap = this.starts.length
    if (cap > 64 && n * 4 <= cap) this.resize(Math.max(64, cap >>> 1), n)
  }
}
