/**
 * What the broker keeps in memory about one storage v2 segment: its summary
 * (offsets, size, timestamps) and a sparse offset -> byte position index,
 * one entry per `interval` bytes of lines (and always the first line), so an
 * event is found with a binary search and one small positional read, without
 * ever loading the segment. About 24 bytes per 4 KiB of events.
 *
 * It also keeps the lines' priority runs (PriorityRuns), so a replay lists
 * what it owes without reading events.
 *
 * A sealed segment's index is saved beside it as `<first>.index.json` (plain
 * JSON, entries and runs delta-encoded). It is a cache: one that does not
 * match its segment is ignored and the segment scanned again. Version 1 files
 * (before the runs) are still read: their segments' runs are unknown (null),
 * and a replay reads those segments' lines instead.
 */

import { PriorityRuns } from './priorityRuns'

export const SEGMENT_SUFFIX = '.jsonl'
export const INDEX_SUFFIX = '.index.json'
const SEGMENT_NAME = /^(\d{20})\.jsonl$/

/** `00000000000000000042.jsonl`: 20 digits, so `ls` and `cat *.jsonl` go in offset order. */
export function segmentFileName (firstOffset: number): string {
  return String(firstOffset).padStart(20, '0') + SEGMENT_SUFFIX
}

export function indexFileName (firstOffset: number): string {
  return String(firstOffset).padStart(20, '0') + INDEX_SUFFIX
}

/** The first offset a segment file name stands for, or null when it is not a segment name. */
export function parseSegmentFileName (name: string): number | null {
  const m = SEGMENT_NAME.exec(name)
  if (m === null) return null
  const n = Number(m[1])
  return Number.isSafeInteger(n) ? n : null
}

export class SegmentIndex {
  /** Offset in the file name; the first line has it. */
  readonly firstOffset: number
  /** Offset of the last line; firstOffset - 1 while empty. */
  lastOffset: number
  /** Lines. */
  count = 0
  /** Bytes of whole lines (the file's committed size). */
  bytes = 0
  minTimestamp = Infinity
  maxTimestamp = -Infinity
  /** Sparse entries [0, entries). */
  entries = 0
  /**
   * The lines' priority runs; null when unknown (a version 1 index file) or
   * released from memory (`runsSaved`: the index file has them).
   */
  runs: PriorityRuns | null = new PriorityRuns()
  /** The index file holds this segment's runs (written by render, or read by parse). */
  runsSaved = false
  private offsets: Float64Array
  private positions: Float64Array
  private timestamps: Float64Array

  constructor (firstOffset: number, capacity = 16) {
    this.firstOffset = firstOffset
    this.lastOffset = firstOffset - 1
    this.offsets = new Float64Array(capacity)
    this.positions = new Float64Array(capacity)
    this.timestamps = new Float64Array(capacity)
  }

  /** Records a whole line written at `position` (the caller writes lines in offset order). */
  note (offset: number, position: number, timestamp: number, lineBytes: number, interval: number, priority: number): void {
    this.runs?.note(offset, priority)
    const e = this.entries
    if (e === 0 || position - this.positions[e - 1] >= interval) {
      if (e === this.offsets.length) this.grow()
      this.offsets[e] = offset
      this.positions[e] = position
      this.timestamps[e] = timestamp
      this.entries = e + 1
    }
    this.lastOffset = offset
    this.count++
    this.bytes = position + lineBytes
    if (timestamp < this.minTimestamp) this.minTimestamp = timestamp
    if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp
  }

  /** Byte position to start reading for `offset`: the nearest entry at or before it. */
  floorPosition (offset: number): number {
    let lo = 0
    let hi = this.entries - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      if (this.offsets[mid] <= offset) lo = mid + 1
      else hi = mid - 1
    }
    return hi < 0 ? 0 : this.positions[hi]
  }

  /**
   * Where the line of `offset` starts, estimated without reading: exact at a
   * sparse entry, otherwise interpolated between the entries around it (exact
   * when lines have equal sizes). 0 before the first line, `bytes` past the last.
   */
  approxPosition (offset: number): number {
    if (this.count === 0 || offset <= this.firstOffset) return 0
    if (offset > this.lastOffset) return this.bytes
    let lo = 0
    let hi = this.entries - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      if (this.offsets[mid] <= offset) lo = mid + 1
      else hi = mid - 1
    }
    const o0 = this.offsets[hi]
    const p0 = this.positions[hi]
    if (o0 === offset) return p0
    const o1 = hi + 1 < this.entries ? this.offsets[hi + 1] : this.lastOffset + 1
    const p1 = hi + 1 < this.entries ? this.positions[hi + 1] : this.bytes
    return Math.round(p0 + (offset - o0) * (p1 - p0) / (o1 - o0))
  }

  /**
   * Byte position to start scanning for the first event at or after `ms`:
   * the last entry stamped before it. Timestamps come from the wall clock
   * and can step back; the scan from there settles it.
   */
  floorPositionByTime (ms: number): number {
    let at = 0
    for (let i = 0; i < this.entries; i++) {
      if (this.timestamps[i] < ms) at = this.positions[i]
      else break
    }
    return at
  }

  get byteSize (): number {
    return this.offsets.byteLength * 3 + (this.runs?.byteSize ?? 0)
  }

  /** A sealed segment whose runs are saved and many: they leave memory (a replay reads them from the index file). */
  releaseRuns (keepUpTo: number): void {
    if (this.runs !== null && this.runsSaved && this.runs.count > keepUpTo) this.runs = null
  }

  /** The sidecar file's text. */
  render (interval: number): string {
    const flat: number[] = []
    let po = 0
    let pp = 0
    let pt = 0
    for (let i = 0; i < this.entries; i++) {
      flat.push(this.offsets[i] - po, this.positions[i] - pp, this.timestamps[i] - pt)
      po = this.offsets[i]; pp = this.positions[i]; pt = this.timestamps[i]
    }
    return JSON.stringify({
      version: 2,
      firstOffset: this.firstOffset,
      lastOffset: this.lastOffset,
      count: this.count,
      bytes: this.bytes,
      minTimestamp: this.count > 0 ? this.minTimestamp : null,
      maxTimestamp: this.count > 0 ? this.maxTimestamp : null,
      interval,
      entries: flat,
      // Unknown runs (a segment indexed by version 1) are left out: readers then read its lines.
      runs: this.runs?.render(this.firstOffset),
    }) + '\n'
  }

  /** The runs saved in a sidecar's text (a sealed segment whose runs left memory); throws unless they match this index. */
  parseRuns (text: string): PriorityRuns {
    const d = JSON.parse(text) as Record<string, unknown>
    if (d.firstOffset !== this.firstOffset || d.lastOffset !== this.lastOffset || d.count !== this.count || d.bytes !== this.bytes) throw new Error('index file does not match')
    return PriorityRuns.parse(d.runs, this.firstOffset, this.lastOffset, this.count)
  }

  /** Reads a sidecar; throws when it is not one for this segment (the caller scans instead). */
  static parse (text: string, firstOffset: number): SegmentIndex {
    const d = JSON.parse(text) as Record<string, unknown>
    if (d.version !== 1 && d.version !== 2) throw new Error('unknown index version')
    if (d.firstOffset !== firstOffset) throw new Error(`index is for offset ${String(d.firstOffset)}, not ${firstOffset}`)
    const count = d.count as number
    const bytes = d.bytes as number
    const lastOffset = d.lastOffset as number
    if (!Number.isSafeInteger(count) || !Number.isSafeInteger(bytes) || !Number.isSafeInteger(lastOffset) || count < 0 || bytes < 0) throw new Error('bad summary')
    const flat = d.entries as number[]
    if (!Array.isArray(flat) || flat.length % 3 !== 0) throw new Error('bad entries')
    const n = flat.length / 3
    if ((count === 0) !== (n === 0) || (count === 0 && (bytes !== 0 || lastOffset !== firstOffset - 1))) throw new Error('bad summary')
    const ix = new SegmentIndex(firstOffset, Math.max(16, n))
    let o = 0
    let p = 0
    let ts = 0
    for (let i = 0; i < n; i++) {
      const po = o
      const pp = p
      o += flat[3 * i]; p += flat[3 * i + 1]; ts += flat[3 * i + 2]
      if (!Number.isSafeInteger(o) || !Number.isSafeInteger(p) || !Number.isSafeInteger(ts)) throw new Error('bad entry')
      if (i === 0 ? (o !== firstOffset || p !== 0) : (o <= po || p <= pp)) throw new Error('entries out of order')
      if (o > lastOffset || p >= bytes) throw new Error('entry past the end')
      ix.offsets[i] = o; ix.positions[i] = p; ix.timestamps[i] = ts
    }
    ix.entries = n
    ix.count = count
    ix.bytes = bytes
    ix.lastOffset = lastOffset
    if (count > 0) {
      if (!Number.isSafeInteger(d.minTimestamp) || !Number.isSafeInteger(d.maxTimestamp)) throw new Error('bad timestamps')
      ix.minTimestamp = d.minTimestamp as number
      ix.maxTimestamp = d.maxTimestamp as number
    }
    ix.runs = d.runs === undefined ? null : PriorityRuns.parse(d.runs, firstOffset, lastOffset, count)
    ix.runsSaved = ix.runs !== null
    return ix
  }

  private grow (): void {
    const cap = this.offsets.length * 2
    for (const k of ['offsets', 'positions', 'timestamps'] as const) {
      const a = new Float64Array(cap)
      a.set(this[k])
      this[k] = a
    }
  }
}
