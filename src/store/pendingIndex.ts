import { RunSet } from './runSet'

/** Event priorities run from 0 to 9 (see the event schema). */
export const PRIORITIES = 10

/**
 * The offsets a subscription still has to deliver, without the events
 * themselves (storage v2: the bytes stay in the topic's segments). One
 * RunSet per priority, so the next event to deliver — highest priority,
 * then lowest offset — is the first member of the highest non-empty level,
 * found from a bit mask. A backlog published in one priority is one run
 * whatever its length; mixed priorities cost at most 16 bytes per run.
 */
export class PendingIndex {
  /** Offsets held, all priorities together. */
  size = 0
  /** Priority of the offset the last shift()/shiftLowest() returned. */
  lastPriority = -1
  private readonly levels: Array<RunSet | undefined> = new Array(PRIORITIES).fill(undefined)
  /** Bit p set: level p is not empty. */
  private mask = 0

  add (offset: number, priority: number): boolean {
    const added = this.levelFor(priority).add(offset)
    if (added) { this.size++; this.mask |= 1 << priority }
    return added
  }

  /** Adds every offset of [first, last] at one priority (a replay range, a snapshot run); returns how many were new. */
  addRange (first: number, last: number, priority: number): number {
    const added = this.levelFor(priority).addRange(first, last)
    if (added > 0) { this.size += added; this.mask |= 1 << priority }
    return added
  }

  /** Removes an offset known to be at this priority; false when it is not there. */
  remove (offset: number, priority: number): boolean {
    const l = this.levels[priority]
    if (l === undefined || !l.remove(offset)) return false
    this.size--
    if (l.size === 0) this.mask &= ~(1 << priority)
    return true
  }

  /** Removes an offset whatever its priority; returns the priority it had, or -1. */
  removeAny (offset: number): number {
    for (let m = this.mask; m !== 0; m &= m - 1) {
      const p = 31 - Math.clz32(m & -m)
      if (this.remove(offset, p)) return p
    }
    return -1
  }

  has (offset: number): boolean {
    for (let m = this.mask; m !== 0; m &= m - 1) {
      if (this.levels[31 - Math.clz32(m & -m)]!.has(offset)) return true
    }
    return false
  }

  /** The next offset to deliver (highest priority, lowest offset) without taking it; -1 when empty. */
  peek (): number {
    return this.mask === 0 ? -1 : this.levels[31 - Math.clz32(this.mask)]!.first()
  }

  /** The priority of the offset peek() returns; -1 when empty. */
  peekPriority (): number {
    return this.mask === 0 ? -1 : 31 - Math.clz32(this.mask)
  }

  /** Takes the next offset to deliver; -1 when empty. Its priority is left in lastPriority. */
  shift (): number {
    if (this.mask === 0) return -1
    return this.take(31 - Math.clz32(this.mask))
  }

  /** Takes the lowest-priority, lowest offset (the drop-oldest overflow policy); -1 when empty. */
  shiftLowest (): number {
    if (this.mask === 0) return -1
    return this.take(31 - Math.clz32(this.mask & -this.mask))
  }

  /** The lowest offset held at any priority (what retention must keep); -1 when empty. */
  lowestOffset (): number {
    let low = -1
    for (let m = this.mask; m !== 0; m &= m - 1) {
      const f = this.levels[31 - Math.clz32(m & -m)]!.first()
      if (low < 0 || f < low) low = f
    }
    return low
  }

  countAt (priority: number): number {
    return this.levels[priority]?.size ?? 0
  }

  get runCount (): number {
    let n = 0
    for (const l of this.levels) n += l?.runCount ?? 0
    return n
  }

  /** Bytes of run arrays held (what a backlog costs in RAM). */
  get byteSize (): number {
    let n = 0
    for (const l of this.levels) n += l?.byteSize ?? 0
    return n
  }

  /** The runs of one priority (undefined when none was ever added): for walks that yield between slices. */
  level (priority: number): RunSet | undefined {
    return this.levels[priority]
  }

  /** Every run, highest priority first, offsets ascending within a priority. */
  forEachRun (fn: (priority: number, start: number, end: number) => void): void {
    for (let p = PRIORITIES - 1; p >= 0; p--) {
      const l = this.levels[p]
      if (l !== undefined && l.size > 0) l.forEachRun((s, e) => fn(p, s, e))
    }
  }

  /** Calls fn for every offset held in [from, to], each priority in turn: a binary search per priority, then the hits. */
  forEachIn (from: number, to: number, fn: (offset: number) => void): void {
    for (let m = this.mask; m !== 0; m &= m - 1) {
      const l = this.levels[31 - Math.clz32(m & -m)]!
      let lo = 0
      let hi = l.runCount - 1
      while (lo <= hi) { // the first run that ends at or after `from`
        const mid = (lo + hi) >>> 1
        if (l.endAt(mid) < from) lo = mid + 1
        else hi = mid - 1
      }
      for (let i = lo; i < l.runCount && l.startAt(i) <= to; i++) {
        const e = Math.min(l.endAt(i), to)
        for (let o = Math.max(l.startAt(i), from); o <= e; o++) fn(o)
      }
    }
  }

  /** An independent copy, for a consistent state snapshot written while the live index moves on. */
  clone (): PendingIndex {
    const c = new PendingIndex()
    for (let p = 0; p < PRIORITIES; p++) {
      const l = this.levels[p]
      if (l !== undefined && l.size > 0) c.levels[p] = l.clone()
    }
    c.size = this.size
    c.mask = this.mask
    return c
  }

  private take (p: number): number {
    const l = this.levels[p]!
    const x = l.shift()
    this.size--
    if (l.size === 0) this.mask &= ~(1 << p)
    this.lastPriority = p
    return x
  }

  private levelFor (p: number): RunSet {
    if (!(p >= 0 && p < PRIORITIES && Number.isInteger(p))) throw new RangeError(`priority ${p} is not an integer from 0 to ${PRIORITIES - 1}`)
    let l = this.levels[p]
    if (l === undefined) this.levels[p] = l = new RunSet()
    return l
  }
}
