import { closeSync, fdatasync, fstatSync, ftruncateSync, mkdirSync, openSync, read, readdirSync, readFileSync, readSync, renameSync, unlinkSync, write, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../log'
import { fsyncDir, moveAside } from './files'
import type { FsyncPolicy } from './journal'
import { FileCache, sharedFileCache } from './fileCache'
import { encodeLines, type LineBatch, type LineParts, type LineSource } from './lineBatch'
import { decodeLine, lineProblem, type SegmentLine } from './segmentCodec'
import { SegmentIndex, indexFileName, parseSegmentFileName, segmentFileName } from './segmentIndex'

/** What the log needs of an event to append it: its stored line (the codec's format, no newline), offset, timestamp and priority. */
export type LogEntry = LineSource

export interface SegmentLogOptions {
  fsync: FsyncPolicy
  log: Logger
  /** Roll to a new segment before one would grow past this (a single bigger line gets a segment of its own). */
  segmentBytes?: number
  /** One sparse index entry per this many bytes of lines. */
  indexIntervalBytes?: number
  /** Offset of the first event when the log is empty. */
  firstOffset?: number
  /** Clock for the names of damaged files. */
  now?: () => number
  files?: FileCache
}

/** A segment as the log tracks it. */
export interface SegmentInfo {
  firstOffset: number
  lastOffset: number
  count: number
  bytes: number
  minTimestamp: number
  maxTimestamp: number
  file: string
}

interface Segment {
  file: string
  index: SegmentIndex
}

/** Lines of one append that go to one segment, the first at `startPos`, written back to back. */
interface Chunk {
  seg: Segment
  created: boolean
  startPos: number
  /** Bytes of its pieces. */
  size: number
  pieces: Piece[]
}

/** Lines [from, end) of one part of an append (`buf`: their bytes); noted in the index once the write succeeded, so reads never see them early. */
interface Piece {
  lines: LineBatch
  from: number
  end: number
  buf: Buffer
}

/**
 * Lines a range read need not decode nor return, judged from their bytes
 * (`buf[start, end)`, a whole line of the broker's format). A line that is not
 * in that format is always decoded, so damage is still found.
 */
export type LineFilter = (buf: Buffer, start: number, end: number) => boolean

/** Offsets a range read should return (judged from the line's trailing offset before decoding it); the others are skipped. */
export type OffsetFilter = (offset: number) => boolean

/** How a read of one segment ended. */
const Read = { Done: 0, Budget: 1, SegmentEnd: 2, Damaged: 3 } as const
type Read = typeof Read[keyof typeof Read]

const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024
const DEFAULT_INTERVAL = 4096
const SCAN_CHUNK = 1 << 20
const RANGE_CHUNK = 256 * 1024
/** A sealed segment keeps its priority runs in memory up to this many (24 bytes each); more are read from its index file when a replay needs them. */
const RUNS_KEPT = 4096
/** Runs handed out per listRuns call at most (a replay lists a mixed-priority segment in slices, yielding between them). */
const RUNS_PER_CALL = 65536

/**
 * One topic's events in storage v2: append-only JSON Lines segments
 * `<dir>/<first-offset>.jsonl`, one event per line exactly as delivered.
 *
 * Appends are batched (one write per segment touched, then one fdatasync
 * each unless fsync is off) and roll to a new segment at `segmentBytes`.
 * Reads are positional: a sparse in-memory index per segment finds the
 * nearest line, one small read fetches the event. Reads only ever see whole,
 * written (and, by policy, synced) lines. Retention deletes whole segments.
 *
 * Opening a log recovers it: a torn last line (a crash during a write) is cut
 * off, a segment with a damaged line in the middle is moved aside as
 * `<name>.damaged-<ms>` with a warning, and the rest is served.
 */
export class SegmentLog {
  readonly dir: string
  /** Damaged segments moved aside and torn tails cut since the log was opened. */
  problems = 0
  /** Bytes read from the segment files since the log was opened (what reads cost; tests and benchmarks read it). */
  bytesRead = 0
  private readonly segs: Segment[] = []
  private next: number
  private readonly policy: FsyncPolicy
  private readonly log: Logger
  private readonly segmentBytes: number
  private readonly interval: number
  private readonly now: () => number
  private readonly files: FileCache
  private chain: Promise<void> = Promise.resolve()

  private constructor (dir: string, o: SegmentLogOptions) {
    this.dir = dir
    this.policy = o.fsync
    this.log = o.log
    this.segmentBytes = o.segmentBytes ?? DEFAULT_SEGMENT_BYTES
    this.interval = o.indexIntervalBytes ?? DEFAULT_INTERVAL
    this.now = o.now ?? Date.now
    this.files = o.files ?? sharedFileCache
    this.next = o.firstOffset ?? 1
  }

  /** Opens (creating the directory if needed) and recovers a log. Synchronous: meant for start-up. */
  static open (dir: string, options: SegmentLogOptions): SegmentLog {
    const sl = new SegmentLog(dir, options)
    sl.recover()
    return sl
  }

  /** The offset the next appended event should have (at least). */
  get nextOffset (): number {
    return this.next
  }

  /** The first retained offset; nextOffset when nothing is retained. */
  get firstOffset (): number {
    for (const s of this.segs) if (s.index.count > 0) return s.index.firstOffset
    return this.next
  }

  /** The last stored offset; firstOffset - 1 when empty. */
  get lastOffset (): number {
    for (let i = this.segs.length - 1; i >= 0; i--) if (this.segs[i].index.count > 0) return this.segs[i].index.lastOffset
    return this.firstOffset - 1
  }

  get bytes (): number {
    let n = 0
    for (const s of this.segs) n += s.index.bytes
    return n
  }

  /** Bytes of the events from `offset` on (an estimate inside the segment that holds it: SegmentIndex.approxPosition). */
  bytesFrom (offset: number): number {
    let n = 0
    for (let i = this.segs.length - 1; i >= 0; i--) {
      const ix = this.segs[i].index
      if (ix.count === 0) continue
      if (ix.firstOffset >= offset) { n += ix.bytes; continue }
      if (ix.lastOffset >= offset) n += ix.bytes - ix.approxPosition(offset)
      break
    }
    return n
  }

  /** Events retained (gaps left by damaged segments excluded). */
  get count (): number {
    let n = 0
    for (const s of this.segs) n += s.index.count
    return n
  }

  /** RAM held by the sparse indexes. */
  get indexBytes (): number {
    let n = 0
    for (const s of this.segs) n += s.index.byteSize
    return n
  }

  /** Every segment, oldest first; the last one is the active segment. */
  segments (): SegmentInfo[] {
    return this.segs.map(s => ({
      firstOffset: s.index.firstOffset,
      lastOffset: s.index.lastOffset,
      count: s.index.count,
      bytes: s.index.bytes,
      minTimestamp: s.index.minTimestamp,
      maxTimestamp: s.index.maxTimestamp,
      file: s.file,
    }))
  }

  // --- writing ---

  /**
   * Appends events (offsets increasing, each above the last stored one) in
   * one write per segment touched, then syncs by policy. On failure nothing
   * is appended: partial writes are cut back and the promise rejects.
   */
  append (entries: readonly LogEntry[]): Promise<void> {
    return this.enqueue(() => this.appendNow([encodeLines(entries)]))
  }

  /**
   * append() of lines already encoded (a topic's events not yet stored are
   * kept this way, in parts: one append, whatever the number of parts): the
   * same checks, writes and syncs, without another copy. The parts' bytes and
   * arrays must not change until the promise settles.
   */
  appendLines (lines: LineParts): Promise<void> {
    return this.enqueue(() => this.appendNow(lines))
  }

  /** Seals the active segment and starts an empty one (retention can then delete the old one). */
  roll (): Promise<void> {
    return this.enqueue(async () => {
      const active = this.segs[this.segs.length - 1]
      if (active === undefined || active.index.count === 0) return
      this.createSegment(this.next)
      this.writeIndex(active, true)
      if (this.policy !== 'off') await fsyncDir(this.dir)
    })
  }

  /** Deletes the `count` oldest segments (never the active one); resolves to the bytes freed. */
  deleteOldest (count: number): Promise<number> {
    return this.enqueue(async () => {
      const n = Math.min(count, this.segs.length - 1)
      if (n <= 0) return 0
      let freed = 0
      for (const s of this.segs.splice(0, n)) {
        freed += s.index.bytes
        this.files.forget(s.file)
        removeQuietly(s.file)
        removeQuietly(this.indexPath(s))
      }
      if (this.policy !== 'off') await fsyncDir(this.dir)
      return freed
    })
  }

  /** Waits for pending writes and saves the active segment's index, so the next open need not scan it. */
  close (): Promise<void> {
    return this.enqueue(async () => {
      const active = this.segs[this.segs.length - 1]
      if (active !== undefined && active.index.count > 0) this.writeIndex(active, false)
      for (const s of this.segs) this.files.forget(s.file)
    })
  }

  private enqueue<T> (op: () => Promise<T>): Promise<T> {
    const p = this.chain.then(op)
    this.chain = p.then(() => undefined, () => undefined)
    return p
  }

  private async appendNow (parts: LineParts): Promise<void> {
    let last = this.next - 1
    for (const lines of parts) {
      const bad = firstNotAbove(lines.offsets, lines.count, last)
      if (bad >= 0) throw new Error(`append: offset ${lines.offsets[bad]} is not above ${bad > 0 ? lines.offsets[bad - 1] : last}`)
      if (lines.count > 0) last = lines.offsets[lines.count - 1]
    }
    if (last === this.next - 1) return // no lines
    const chunks = this.plan(parts)
    const touched: Chunk[] = []
    try {
      for (let k = 0; k < chunks.length; k++) {
        const c = chunks[k]
        if (c.created) {
          // Under a syncing policy a sealed segment is on disk before the next one exists, so only the last segment can ever have a torn tail.
          if (k > 0 && chunks[k - 1].size > 0 && this.policy !== 'off') await this.datasync(chunks[k - 1].seg.file)
          this.createFile(c.seg.file)
        }
        touched.push(c)
        let pos = c.startPos
        for (const piece of c.pieces) {
          await this.writeAt(c.seg.file, piece.buf, pos)
          pos += piece.buf.length
        }
      }
      if (this.policy !== 'off') {
        const last = chunks[chunks.length - 1]
        await this.datasync(last.seg.file)
        if (chunks.some(c => c.created)) await fsyncDir(this.dir)
      }
    } catch (err) {
      this.undo(touched)
      throw err
    }
    for (const c of chunks) {
      let pos = c.startPos
      for (const piece of c.pieces) {
        noteLines(c.seg.index, piece.lines, piece.from, piece.end, pos, this.interval)
        pos += piece.buf.length
      }
      if (c.created) this.segs.push(c.seg)
    }
    this.next = last + 1
    for (let k = 0; k < chunks.length - 1; k++) this.writeIndex(chunks[k].seg, true) // sealed by this append
  }

  /** Splits an append into per-segment stretches of its parts' bytes (views, not copies), with what the index notes of each line. */
  private plan (parts: LineParts): Chunk[] {
    const chunks: Chunk[] = []
    const first = parts.find(p => p.count > 0)!.offsets[0]
    let seg: Segment | undefined = this.segs[this.segs.length - 1]
    let created = false
    if (seg !== undefined && seg.index.count === 0 && seg.index.firstOffset !== first) {
      // An empty active segment is named for the offset its first line will have; a gap needs a new name.
      this.dropEmptyActive()
      seg = undefined
    }
    if (seg === undefined) { seg = this.newSegment(first); created = true }
    let chunk: Chunk = { seg, created, startPos: seg.index.bytes, size: 0, pieces: [] }
    chunks.push(chunk)
    for (const lines of parts) {
      let from = 0 // first line not yet placed
      let fromByte = 0 // its first byte in lines.bytes
      while (from < lines.count) {
        // Lines [from, end) fit the segment; line `end` (if any) starts the next one.
        const end = linesThatFit(lines.lengths, from, lines.count, chunk.startPos + chunk.size, this.segmentBytes)
        if (end > from) {
          const size = bytesOf(lines.lengths, from, end)
          chunk.pieces.push({ lines, from, end, buf: lines.bytes.subarray(fromByte, fromByte + size) })
          chunk.size += size
          fromByte += size
          from = end
        }
        if (from < lines.count) {
          chunk = { seg: this.newSegment(lines.offsets[from]), created: true, startPos: 0, size: 0, pieces: [] }
          chunks.push(chunk)
        }
      }
    }
    return chunks
  }

  /** A failed append leaves nothing behind: new files go, grown ones are cut back. */
  private undo (touched: Chunk[]): void {
    for (const c of touched) {
      if (c.created) {
        this.files.forget(c.seg.file)
        removeQuietly(c.seg.file)
      } else {
        try {
          const fd = this.files.acquire(c.seg.file)
          try { ftruncateSync(fd, c.startPos) } finally { this.files.release(c.seg.file) }
        } catch (err) {
          this.log.error({ err, file: c.seg.file }, 'could not cut a failed append back; the next open will')
        }
      }
    }
  }

  private newSegment (firstOffset: number): Segment {
    return { file: join(this.dir, segmentFileName(firstOffset)), index: new SegmentIndex(firstOffset) }
  }

  /** Creates an empty segment file and makes it the active one. */
  private createSegment (firstOffset: number): void {
    const seg = this.newSegment(firstOffset)
    this.createFile(seg.file)
    this.segs.push(seg)
  }

  private createFile (file: string): void {
    closeSync(openSync(file, 'wx'))
  }

  private dropEmptyActive (): void {
    const s = this.segs.pop()!
    this.files.forget(s.file)
    removeQuietly(s.file)
    removeQuietly(this.indexPath(s))
  }

  private writeAt (file: string, buf: Buffer, position: number): Promise<void> {
    const fd = this.files.acquire(file)
    return new Promise<void>((resolve, reject) => {
      const step = (off: number): void => {
        write(fd, buf, off, buf.length - off, position + off, (err, n) => {
          if (err !== null) { this.files.release(file); reject(err); return }
          if (off + n < buf.length) { step(off + n); return }
          this.files.release(file)
          resolve()
        })
      }
      step(0)
    })
  }

  private datasync (file: string): Promise<void> {
    const fd = this.files.acquire(file)
    return new Promise<void>((resolve, reject) => {
      fdatasync(fd, (err) => {
        this.files.release(file)
        if (err !== null) reject(err)
        else resolve()
      })
    })
  }

  private indexPath (s: Segment): string {
    return join(this.dir, indexFileName(s.index.firstOffset))
  }

  /**
   * Saves a segment's index (a cache: not synced; a torn or stale one is
   * detected and rebuilt). A sealed segment's many runs then leave memory.
   */
  private writeIndex (s: Segment, sealed: boolean): void {
    const path = this.indexPath(s)
    try {
      writeFileSync(path + '.tmp', s.index.render(this.interval))
      renameSync(path + '.tmp', path)
      if (s.index.runs !== null) s.index.runsSaved = true
      if (sealed) s.index.releaseRuns(RUNS_KEPT)
    } catch (err) {
      this.log.warn({ err, file: path }, 'could not save a segment index; it will be rebuilt at the next start')
    }
  }

  // --- reading ---

  /** The event at `offset`, or undefined when it is not retained. */
  async read (offset: number): Promise<SegmentLine | undefined> {
    const lines = await this.readRange(offset, offset, 0)
    return lines.length > 0 && lines[0].offset === offset ? lines[0] : undefined
  }

  /**
   * Events with offsets in [from, to], in order, from as many segments as
   * needed, stopping once about `maxBytes` have been read (at least one event
   * is returned when there is one). Offsets not retained are skipped, and
   * so are those `want` refuses (without decoding them).
   */
  async readRange (from: number, to: number, maxBytes: number, skip?: LineFilter, want?: OffsetFilter): Promise<SegmentLine[]> {
    const out: SegmentLine[] = []
    const budget = { left: maxBytes, skip, want }
    let i = this.segmentFor(from)
    while (i < this.segs.length) {
      const s = this.segs[i]
      if (s.index.count > 0 && s.index.lastOffset >= from) {
        const r = await this.readFrom(s, from, to, budget, out)
        if (r === Read.Damaged) {
          // Moved aside: carry on with the segments after it.
          if (out.length > 0) from = out[out.length - 1].offset + 1
          i = this.segmentFor(from)
          while (i < this.segs.length && this.segs[i].index.firstOffset <= s.index.firstOffset) i++
          continue
        }
        if (r !== Read.SegmentEnd) break
      }
      i++
    }
    return out
  }

  /**
   * The stored offsets in [from, to] as runs of one priority, without
   * reading events: `[start, end, priority]` triples in offset order, from
   * the index of one segment per call (and at most RUNS_PER_CALL runs);
   * `next` is the offset to carry on from (past `to` when done). A sealed
   * segment's runs come from memory or its index file; a segment whose runs
   * are unknown (indexed before they were kept) has its lines read instead.
   */
  async listRuns (from: number, to: number): Promise<{ runs: number[], next: number }> {
    const runs: number[] = []
    let i = this.segmentFor(from)
    while (i < this.segs.length && (this.segs[i].index.count === 0 || this.segs[i].index.lastOffset < from)) i++
    const s = this.segs[i]
    if (s === undefined || s.index.firstOffset > to) return { runs, next: to + 1 }
    let pr = s.index.runs
    if (pr === null && s.index.runsSaved) {
      try {
        pr = s.index.parseRuns(await readFile(this.indexPath(s), 'utf8'))
      } catch { /* gone or stale: read the lines */ }
      if (!this.segs.includes(s)) return { runs, next: from } // moved aside meanwhile: the caller asks again
    }
    if (pr === null) {
      const lines = await this.readRange(from, Math.min(to, s.index.lastOffset), RANGE_CHUNK)
      for (const l of lines) {
        const n = runs.length
        if (n > 0 && runs[n - 2] === l.offset - 1 && runs[n - 1] === l.priority) runs[n - 2] = l.offset
        else runs.push(l.offset, l.offset, l.priority)
      }
      const next = lines.length > 0 && this.segs.includes(s) ? lines[lines.length - 1].offset + 1 : Math.min(to, s.index.lastOffset) + 1
      return { runs, next }
    }
    const end = Math.min(to, s.index.lastOffset)
    const next = pr.collect(from, end, RUNS_PER_CALL, runs)
    return { runs, next: next > end ? end + 1 : next }
  }

  /** The first offset whose event was stamped at or after `ms`; nextOffset when there is none. */
  async offsetAtTime (ms: number): Promise<number> {
    for (const s of [...this.segs]) {
      if (s.index.count === 0 || s.index.maxTimestamp < ms) continue
      let pos = s.index.floorPositionByTime(ms)
      while (pos < s.index.bytes) {
        const { lines, end } = await this.readLines(s, pos, RANGE_CHUNK)
        if (lines === null) break
        for (const l of lines) if (l.timestamp >= ms) return l.offset
        pos = end
      }
    }
    return this.next
  }

  /**
   * offsetAtTime, read synchronously (`sub … from=time:`, a command that
   * cannot wait): the index narrows it to one stretch of one segment, read
   * with small positional reads. A damaged line ends the search there.
   */
  offsetAtTimeSync (ms: number): number {
    for (const s of this.segs) {
      if (s.index.count === 0 || s.index.maxTimestamp < ms) continue
      let pos = s.index.floorPositionByTime(ms)
      const fd = this.files.acquire(s.file)
      try {
        let buf = Buffer.allocUnsafe(64 * 1024)
        while (pos < s.index.bytes) {
          const n = readSync(fd, buf, 0, Math.min(buf.length, s.index.bytes - pos), pos)
          const view = buf.subarray(0, n)
          let start = 0
          let nl = view.indexOf(0x0a, 0)
          if (nl === -1) {
            if (n < buf.length) break
            buf = Buffer.allocUnsafe(buf.length * 2)
            continue
          }
          while (nl !== -1) {
            const line = decodeLine(view.toString('utf8', start, nl))
            if (line === null) return this.next
            if (line.timestamp >= ms) return line.offset
            start = nl + 1
            nl = view.indexOf(0x0a, start)
          }
          pos += start
        }
      } finally {
        this.files.release(s.file)
      }
    }
    return this.next
  }

  /**
   * The events at the given offsets (ascending) that are retained, read
   * synchronously for a command that cannot wait (`requeue`): one pass over
   * the stretch from the first to the last, with positional reads. A damaged
   * line ends the read there (the asynchronous reads move its segment aside).
   */
  readOffsetsSync (offsets: readonly number[]): SegmentLine[] {
    const out: SegmentLine[] = []
    if (offsets.length === 0) return out
    const to = offsets[offsets.length - 1]
    let k = 0
    for (let i = this.segmentFor(offsets[0]); i < this.segs.length && k < offsets.length; i++) {
      const s = this.segs[i]
      if (s.index.count === 0 || s.index.lastOffset < offsets[k]) continue
      if (s.index.firstOffset > to) break
      let pos = s.index.floorPosition(offsets[k])
      const fd = this.files.acquire(s.file)
      try {
        let buf = Buffer.allocUnsafe(64 * 1024)
        while (pos < s.index.bytes && k < offsets.length) {
          const n = readSync(fd, buf, 0, Math.min(buf.length, s.index.bytes - pos), pos)
          const view = buf.subarray(0, n)
          let start = 0
          let nl = view.indexOf(0x0a, 0)
          if (nl === -1) {
            if (n < buf.length) return out
            buf = Buffer.allocUnsafe(buf.length * 2)
            continue
          }
          while (nl !== -1 && k < offsets.length) {
            const quick = tailOffset(view, start, nl)
            while (k < offsets.length && quick >= 0 && offsets[k] < quick) k++ // not retained: skipped
            if (quick < 0 || quick === offsets[k]) {
              const line = decodeLine(view.toString('utf8', start, nl))
              if (line === null) return out
              while (k < offsets.length && offsets[k] < line.offset) k++
              if (k < offsets.length && offsets[k] === line.offset) { out.push(line); k++ }
            }
            start = nl + 1
            nl = view.indexOf(0x0a, start)
          }
          pos += start
        }
      } finally {
        this.files.release(s.file)
      }
    }
    return out
  }

  /** Reads the lines of `s` in [from, to] into out, from the index position for `from`. */
  private async readFrom (s: Segment, from: number, to: number, budget: { left: number, skip?: LineFilter, want?: OffsetFilter }, out: SegmentLine[]): Promise<Read> {
    let pos = s.index.floorPosition(from)
    // About the bytes [from, to] spans (the index places `to`'s line within an interval of its entry), not a
    // whole chunk: a delivery read of a few events then reads a few KiB. A longer line just takes another read.
    const span = to >= s.index.lastOffset ? s.index.bytes - pos : s.index.floorPosition(to) - pos + this.interval * 2
    const want = budget.left <= 0 ? this.interval * 2 : Math.min(RANGE_CHUNK, budget.left + this.interval, Math.max(span, this.interval))
    while (pos < s.index.bytes) {
      const r = await this.readLines(s, pos, want, from, to, budget.skip, budget.want)
      if (r.lines === null) return Read.Damaged
      budget.left -= r.end - pos
      pos = r.end
      for (const l of r.lines) {
        if (l.offset > to) return Read.Done
        if (l.offset >= from) out.push(l)
      }
      if (r.past === true) return Read.Done
      if (out.length > 0 && budget.left <= 0) return Read.Budget
    }
    return Read.SegmentEnd
  }

  /**
   * Reads whole lines of a segment starting at `pos` (a line start), about
   * `want` bytes (more when a line is longer). Lines below `skipBelow` are
   * skipped by their offset alone, without decoding, and reading stops at the
   * first line above `stopAbove`. lines is null when a line was damaged: the
   * segment has been moved aside.
   */
  private async readLines (s: Segment, pos: number, want: number, skipBelow = -1, stopAbove = Infinity, skip?: LineFilter, wanted?: OffsetFilter): Promise<{ lines: SegmentLine[] | null, end: number, past?: boolean }> {
    const limit = s.index.bytes
    let size = Math.min(want, limit - pos)
    for (;;) {
      let buf: Buffer
      try {
        buf = await this.readAt(s.file, pos, size)
      } catch (err) {
        // A segment file that is gone is a segment lost: served no more, like a damaged one. Other errors are the caller's to retry.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
        this.quarantine(s, 'the file is gone')
        return { lines: null, end: pos }
      }
      const lines: SegmentLine[] = []
      let start = 0
      let nl = buf.indexOf(0x0a, 0)
      while (nl !== -1) {
        const quick = skipBelow < 0 ? -1 : tailOffset(buf, start, nl)
        if (quick > stopAbove) return { lines, end: pos + start, past: true } // past the range: no need to decode the rest
        if ((quick < 0 || quick >= skipBelow) && (quick < 0 || ((skip === undefined || !skip(buf, start, nl)) && (wanted === undefined || wanted(quick))))) {
          const text = buf.toString('utf8', start, nl)
          const line = decodeLine(text)
          if (line === null) {
            this.quarantine(s, `line at byte ${pos + start}: ${lineProblem(text) ?? 'unreadable'}`)
            return { lines: null, end: pos }
          }
          lines.push(line)
        }
        start = nl + 1
        nl = buf.indexOf(0x0a, start)
      }
      if (start > 0 || pos + size >= limit) {
        if (start === 0) {
          this.quarantine(s, `no line end before byte ${limit}`)
          return { lines: null, end: pos }
        }
        return { lines, end: pos + start }
      }
      size = Math.min(size * 2, limit - pos) // one line longer than the read: read more
    }
  }

  private readAt (file: string, position: number, size: number): Promise<Buffer> {
    const fd = this.files.acquire(file)
    const buf = Buffer.allocUnsafe(size)
    return new Promise<Buffer>((resolve, reject) => {
      const step = (off: number): void => {
        read(fd, buf, off, size - off, position + off, (err, n) => {
          if (err !== null) { this.files.release(file); reject(err); return }
          if (n > 0 && off + n < size) { step(off + n); return }
          this.files.release(file)
          this.bytesRead += off + n
          resolve(off + n < size ? buf.subarray(0, off + n) : buf)
        })
      }
      step(0)
    })
  }

  /** Index of the segment that holds (or would hold) `offset`: the last one starting at or before it. */
  private segmentFor (offset: number): number {
    let lo = 0
    let hi = this.segs.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      if (this.segs[mid].index.firstOffset <= offset) lo = mid + 1
      else hi = mid - 1
    }
    return Math.max(0, hi)
  }

  /** A damaged segment found while serving: moved aside, the rest is served. */
  private quarantine (s: Segment, problem: string): void {
    const i = this.segs.indexOf(s)
    if (i < 0) return
    this.segs.splice(i, 1)
    this.files.forget(s.file)
    removeQuietly(this.indexPath(s))
    let movedTo: string | null = null
    try { movedTo = moveAside(s.file, this.now()) } catch { /* keep going: the file stays, out of the log */ }
    this.problems++
    this.log.warn({ file: s.file, movedTo, problem, firstOffset: s.index.firstOffset, lastOffset: s.index.lastOffset }, 'damaged segment moved aside; its events are no longer served, the rest of the topic is')
  }

  // --- recovery ---

  private recover (): void {
    mkdirSync(this.dir, { recursive: true })
    const found: Array<{ first: number, file: string, size: number }> = []
    for (const name of readdirSync(this.dir)) {
      const first = parseSegmentFileName(name)
      if (first !== null) {
        const file = join(this.dir, name)
        const size = sizeOf(file)
        if (size < 0) {
          this.problems++
          this.log.warn({ file }, 'not a segment (not a regular file); ignored')
          continue
        }
        found.push({ first, file, size })
      } else if (name.endsWith('.tmp')) removeQuietly(join(this.dir, name))
    }
    found.sort((a, b) => a.first - b.first)
    const laterHaveData: boolean[] = []
    for (let k = found.length - 1, any = false; k >= 0; k--) {
      laterHaveData[k] = any
      any ||= found[k].size > 0
    }
    for (let k = 0; k < found.length; k++) {
      const seg: Segment = { file: found[k].file, index: new SegmentIndex(found[k].first) }
      const prevLast = this.segs.length > 0 ? this.segs[this.segs.length - 1].index.lastOffset : -1
      if (seg.index.firstOffset <= prevLast) {
        this.moveAsideAtOpen(seg, `starts at offset ${seg.index.firstOffset}, inside the previous segment (which ends at ${prevLast})`)
        continue
      }
      const problem = this.load(seg, found[k].size, laterHaveData[k])
      if (problem !== null) { this.moveAsideAtOpen(seg, problem); continue }
      if (seg.index.count === 0 && k < found.length - 1) {
        // An empty segment left by a roll that was followed by another: nothing in it.
        removeQuietly(seg.file)
        removeQuietly(this.indexPath(seg))
        continue
      }
      this.segs.push(seg)
    }
    const last = this.segs[this.segs.length - 1]
    if (last !== undefined) this.next = Math.max(this.next, last.index.count > 0 ? last.index.lastOffset + 1 : last.index.firstOffset)
  }

  /** Loads a segment's index (from its sidecar if it matches, scanning what it does not cover); returns a problem or null. */
  private load (seg: Segment, size: number, laterHaveData: boolean): string | null {
    let from = 0
    try {
      const ix = SegmentIndex.parse(readFileSync(this.indexPath(seg), 'utf8'), seg.index.firstOffset)
      if (ix.bytes <= size) { seg.index = ix; from = ix.bytes }
    } catch { /* none, stale or torn: scan */ }
    if (from < size) {
      const problem = this.scan(seg, from, size, laterHaveData)
      if (problem !== null) return problem
      if (laterHaveData && seg.index.count > 0) this.writeIndex(seg, true) // sealed: the next start needs no scan
    } else if (laterHaveData) seg.index.releaseRuns(RUNS_KEPT)
    return null
  }

  /**
   * Scans [from, size) of a segment, noting its lines. A bad stretch at the
   * end with no good line after it is a torn tail: cut off, unless a later
   * segment has data. A bad line followed by good ones is damage.
   */
  private scan (seg: Segment, from: number, size: number, laterHaveData: boolean): string | null {
    const fd = openSync(seg.file, 'r')
    let cutAt = -1
    let why = ''
    try {
      let buf = Buffer.allocUnsafe(Math.min(SCAN_CHUNK, size - from))
      let pos = from
      while (pos < size) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos)
        const view = buf.subarray(0, n)
        let start = 0
        let nl = view.indexOf(0x0a, 0)
        if (nl === -1) {
          if (pos + n >= size) { if (cutAt < 0) { cutAt = pos; why = `${size - pos} bytes without a line end` } break }
          buf = Buffer.allocUnsafe(buf.length * 2) // a line longer than the buffer
          continue
        }
        while (nl !== -1) {
          const text = view.toString('utf8', start, nl)
          const line = decodeLine(text)
          let problem: string | null = null
          if (line === null) problem = lineProblem(text) ?? 'unreadable'
          else if (seg.index.count === 0 && cutAt < 0 && line.offset !== seg.index.firstOffset) {
            return `first line has offset ${line.offset}, the file name says ${seg.index.firstOffset}` // not a torn write: a wrong file
          } else if (seg.index.count > 0 && line.offset <= seg.index.lastOffset) problem = `offset ${line.offset} after ${seg.index.lastOffset}`
          if (problem !== null) {
            if (cutAt < 0) { cutAt = pos + start; why = problem }
          } else if (cutAt >= 0) {
            return `line at byte ${cutAt}: ${why}; good lines follow it`
          } else {
            seg.index.note(line!.offset, pos + start, line!.timestamp, nl - start + 1, this.interval, line!.priority)
          }
          start = nl + 1
          nl = view.indexOf(0x0a, start)
        }
        pos += start
      }
    } finally {
      closeSync(fd)
    }
    if (cutAt < 0) return null
    if (laterHaveData) return `line at byte ${cutAt}: ${why}; later segments have data`
    // A torn tail: a write cut short by a crash, never confirmed. Cut it off.
    const fdw = openSync(seg.file, 'r+')
    try { ftruncateSync(fdw, cutAt) } finally { closeSync(fdw) }
    this.problems++
    this.log.warn({ file: seg.file, at: cutAt, cut: size - cutAt, problem: why }, 'torn tail of a segment cut off (a write interrupted by a crash, never confirmed)')
    return null
  }

  private moveAsideAtOpen (seg: Segment, problem: string): void {
    const movedTo = moveAside(seg.file, this.now())
    removeQuietly(this.indexPath(seg))
    this.problems++
    this.log.warn({ file: seg.file, movedTo, problem }, 'damaged segment moved aside; the rest of the topic is served')
  }
}

/**
 * The offset at the end of a broker-written line (`…"offset":123}`) read
 * from its bytes, or -1 when the line does not end that way (then it is
 * decoded in full, which says what is wrong with it).
 */
function tailOffset (buf: Buffer, start: number, end: number): number {
  let i = end - 1
  if (i <= start || buf[i] !== 0x7d) return -1
  let v = 0
  let mul = 1
  let digits = 0
  for (i--; i > start && buf[i] >= 0x30 && buf[i] <= 0x39; i--) {
    v += (buf[i] - 0x30) * mul
    mul *= 10
    if (++digits > 16) return -1
  }
  return digits > 0 && buf[i] === 0x3a ? v : -1
}

/** A regular file's size; -1 for anything else (a directory where a segment should be). */
function sizeOf (file: string): number {
  const fd = openSync(file, 'r')
  try {
    const st = fstatSync(fd)
    return st.isFile() ? st.size : -1
  } finally { closeSync(fd) }
}

function removeQuietly (file: string): void {
  try { unlinkSync(file) } catch { /* already gone */ }
}

/*
 * An append's per-line loops are functions of their own with nothing after
 * the loop: V8 compiles a hot loop while it runs (on-stack replacement), and
 * code after it that had never run made the whole append bail out and be
 * compiled again, batch after batch (--trace-deopt; the compile time on V8's
 * threads was a measurable share of W3's CPU).
 */

/** The first index whose offset is not above the one before it (`prev` before the first); -1 when they all increase. */
function firstNotAbove (offsets: Float64Array, count: number, prev: number): number {
  for (let i = 0; i < count; i++) {
    const o = offsets[i]
    if (!(o > prev)) return i
    prev = o
  }
  return -1
}

/** The end of the lines from `from` on that fit a segment whose next line starts at `startPos` (a line starting a segment always fits). */
function linesThatFit (lengths: Uint32Array, from: number, count: number, startPos: number, segmentBytes: number): number {
  let pos = startPos
  for (let i = from; i < count; i++) {
    const len = lengths[i]
    if (pos > 0 && pos + len > segmentBytes) return i
    pos += len
  }
  return count
}

/** Bytes of lines [from, end). */
function bytesOf (lengths: Uint32Array, from: number, end: number): number {
  let n = 0
  for (let i = from; i < end; i++) n += lengths[i]
  return n
}

/** Adds lines [from, end) of an append, the first written at `pos`, to their segment's index. */
function noteLines (index: SegmentIndex, lines: LineBatch, from: number, end: number, pos: number, interval: number): void {
  const { offsets, timestamps, lengths, priorities } = lines
  for (let i = from; i < end; i++) {
    const len = lengths[i]
    index.note(offsets[i], pos, timestamps[i], len, interval, priorities[i])
    pos += len
  }
}
