import { close, closeSync, copyFileSync, existsSync, fdatasync, fstatSync, ftruncateSync, mkdirSync, open, openSync, readdirSync, readFileSync, renameSync, unlinkSync, write } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from '../log'
import { fsyncDir, moveAside } from './files'
import type { FsyncPolicy } from './journal'
import { parseStateLine, type SnapshotHeader } from './stateCodec'
import { TopicState } from './topicState'

export interface StateLogOptions {
  fsync: FsyncPolicy
  log: Logger
  /** Clock for the names of damaged files. */
  now?: () => number
  /** Compact once the logs since the last snapshot pass max(compactMinBytes, compactRatio x the snapshot's size). */
  compactMinBytes?: number
  compactRatio?: number
}

const SNAPSHOT = /^snapshot-(\d{1,15})\.jsonl$/
const LOG = /^state-(\d{1,15})\.jsonl$/
const WRITE_SLICE = 64 * 1024

export function snapshotFileName (k: number): string {
  return `snapshot-${k}.jsonl`
}

export function stateLogFileName (k: number): string {
  return `state-${k}.jsonl`
}

/**
 * A topic's subscription state in storage v2: records appended to
 * `state-<k>.jsonl` once per batch, and from time to time a compaction:
 * appends switch to `state-<k+1>.jsonl` and `snapshot-<k+1>.jsonl` is
 * written (temporary file, sync, rename) with the state as of that switch.
 * A snapshot is as big as the live state (subscriptions, runs of pending
 * offsets, unacked deliveries), never as the backlog; a compaction is due when
 * the logs since the last snapshot outgrow it, so its cost is paid for by
 * the records it replaces. The previous snapshot and its log are kept until
 * the next compaction, so a damaged snapshot still leaves a full history.
 */
export class StateLog {
  readonly dir: string
  /** Damaged or torn files and lines met while opening. */
  problems = 0
  private readonly policy: FsyncPolicy
  private readonly log: Logger
  private readonly now: () => number
  private readonly minBytes: number
  private readonly ratio: number
  /** Log generation receiving appends. */
  private cur: number
  /** Newest complete snapshot (0: none). */
  private snap: number
  private snapBytes = 0
  /** Bytes of every log since the newest snapshot. */
  private sinceSnapshot = 0
  private chain: Promise<void> = Promise.resolve()
  /** Appends that failed (a compaction started before one of them must not go on). */
  private failures = 0
  private compacting: Promise<boolean> | null = null

  private constructor (dir: string, o: StateLogOptions) {
    this.dir = dir
    this.policy = o.fsync
    this.log = o.log
    this.now = o.now ?? Date.now
    this.minBytes = o.compactMinBytes ?? 1024 * 1024
    this.ratio = o.compactRatio ?? 1
    this.cur = 1
    this.snap = 0
  }

  /**
   * Opens a topic's state (creating the directory if needed) and rebuilds
   * it: the newest readable snapshot, then every log from its generation on.
   * The tail (events after each subscription's tailFrom) is for the caller to
   * list from the segments. Synchronous: meant for start-up.
   */
  static open (dir: string, topic: string, options: StateLogOptions): { log: StateLog, state: TopicState } {
    const sl = new StateLog(dir, options)
    const state = sl.recover(topic)
    return { log: sl, state }
  }

  /** The log generation appends go to. */
  get generation (): number {
    return this.cur
  }

  get snapshotBytes (): number {
    return this.snapBytes
  }

  get logBytes (): number {
    return this.sinceSnapshot
  }

  /** True when a compaction would pay for itself (and none is running). */
  get needsCompaction (): boolean {
    return this.compacting === null && this.sinceSnapshot > Math.max(this.minBytes, this.ratio * this.snapBytes)
  }

  /** Appends records (one write, then a sync by policy). On failure nothing is appended and the promise rejects. */
  append (records: readonly string[]): Promise<void> {
    if (records.length === 0) return Promise.resolve()
    const data = Buffer.from(records.join('\n') + '\n', 'utf8')
    return this.enqueue(async () => {
      const file = join(this.dir, stateLogFileName(this.cur))
      const created = !existsSync(file)
      let fd = -1
      let size = 0
      try {
        fd = openSync(file, 'a')
        size = fstatSync(fd).size
        await writeAll(fd, data)
        if (this.policy !== 'off') await datasync(fd)
        if (created && this.policy !== 'off') await fsyncDir(this.dir)
      } catch (err) {
        this.failures++
        if (fd >= 0) try { ftruncateSync(fd, size) } catch { /* the next open cuts a torn line */ }
        throw err
      } finally {
        if (fd >= 0) closeSync(fd)
      }
      this.sinceSnapshot += data.length
    })
  }

  /**
   * Starts a compaction: appends queued so far go to the current log, later
   * ones to the next; `render(k)` is called at once and must return the lines
   * of snapshot k (stateCodec's snapshotLines) as of now, from data that no
   * longer changes (clones). Resolves to false when one is already running.
   */
  compact (render: (snapshot: number) => Iterable<string>): Promise<boolean> {
    if (this.compacting !== null) return Promise.resolve(false)
    const k = this.cur + 1
    const lines = render(k)
    const failures = this.failures
    let carried = 0
    let rotated = false
    const rotation = this.enqueue(async () => {
      // An append queued before this call failed: its changes are in the image but not in the log, and
      // would be retried into log k and applied twice. Give up; a later compaction will do.
      if (this.failures !== failures) return
      carried = this.sinceSnapshot
      this.cur = k
      this.sinceSnapshot = 0
      rotated = true
    })
    this.compacting = rotation
      .then(async () => {
        if (!rotated) return false
        const ok = await this.writeSnapshot(k, lines)
        if (!ok) this.sinceSnapshot += carried
        return ok
      })
      .finally(() => { this.compacting = null })
    return this.compacting
  }

  /** Waits for appends and any compaction. */
  async close (): Promise<void> {
    await this.chain
    if (this.compacting !== null) await this.compacting
  }

  private enqueue (op: () => Promise<void>): Promise<void> {
    const p = this.chain.then(op)
    this.chain = p.then(() => undefined, () => undefined)
    return p
  }

  private async writeSnapshot (k: number, lines: Iterable<string>): Promise<boolean> {
    const file = join(this.dir, snapshotFileName(k))
    const tmp = file + '.tmp'
    let size = 0
    try {
      const fd = await new Promise<number>((resolve, reject) => open(tmp, 'w', (err, fd) => err === null ? resolve(fd) : reject(err)))
      try {
        let slice = ''
        for (const line of lines) {
          slice += line + '\n'
          if (slice.length >= WRITE_SLICE) {
            const buf = Buffer.from(slice, 'utf8')
            await writeAll(fd, buf) // each slice is a turn of the event loop: a big snapshot never blocks it long
            size += buf.length
            slice = ''
          }
        }
        const buf = Buffer.from(slice, 'utf8')
        await writeAll(fd, buf)
        size += buf.length
        if (this.policy !== 'off') await datasync(fd)
      } finally {
        await new Promise<void>(resolve => close(fd, () => resolve()))
      }
      renameSync(tmp, file)
      if (this.policy !== 'off') await fsyncDir(this.dir)
    } catch (err) {
      try { unlinkSync(tmp) } catch { /* never created */ }
      this.log.error({ err, file }, 'writing a state snapshot failed; the logs still hold everything, a later compaction retries')
      return false
    }
    this.snap = k
    this.snapBytes = size
    this.cleanUp(k)
    return true
  }

  /**
   * Keeps snapshot k, the newest snapshot before it and every log from that
   * one on (what recovery needs if snapshot k turns out damaged); older files go.
   */
  private cleanUp (k: number): void {
    const names = readdirSync(this.dir)
    let prev = 0
    for (const name of names) {
      const s = SNAPSHOT.exec(name)
      if (s !== null && Number(s[1]) < k) prev = Math.max(prev, Number(s[1]))
    }
    if (prev === 0) return
    for (const name of names) {
      const m = SNAPSHOT.exec(name) ?? LOG.exec(name)
      if (m !== null && Number(m[1]) < prev) removeQuietly(join(this.dir, name))
    }
  }

  // --- recovery ---

  private recover (topic: string): TopicState {
    mkdirSync(this.dir, { recursive: true })
    const snaps: number[] = []
    const logs: number[] = []
    for (const name of readdirSync(this.dir)) {
      const s = SNAPSHOT.exec(name)
      const l = LOG.exec(name)
      if (s !== null) snaps.push(Number(s[1]))
      else if (l !== null) logs.push(Number(l[1]))
      else if (name.endsWith('.tmp')) removeQuietly(join(this.dir, name))
    }
    snaps.sort((a, b) => b - a)
    logs.sort((a, b) => a - b)
    let state: TopicState | null = null
    for (const k of snaps) {
      const file = join(this.dir, snapshotFileName(k))
      try {
        state = this.loadSnapshot(file, topic, k)
        this.snap = k
        break
      } catch (err) {
        const movedTo = moveAside(file, this.now())
        this.problems++
        this.log.warn({ file, movedTo, error: (err as Error).message }, 'damaged state snapshot moved aside; using the one before it')
      }
    }
    if (state === null) {
      state = new TopicState(topic)
      const complete = snaps.length === 0 && (logs.length === 0 || logs[0] === 1)
      if (!complete) {
        this.problems++
        this.log.warn({ dir: this.dir, topic, logs }, 'no readable state snapshot and the logs do not go back to the start: subscriptions created before the oldest log are lost')
      }
    }
    const base = this.snap
    const replayed = logs.filter(j => j >= base)
    for (let i = 0; i < replayed.length; i++) this.replayLog(state, replayed[i], i === replayed.length - 1)
    this.cur = Math.max(1, base, replayed[replayed.length - 1] ?? 0)
    if (base > 0) this.cleanUp(base)
    return state
  }

  private loadSnapshot (file: string, topic: string, k: number): TopicState {
    const text = readFileSync(file, 'utf8')
    const lines = text.split('\n')
    if (lines[lines.length - 1] !== '') throw new Error('no line end after the last line')
    lines.pop()
    const header = JSON.parse(lines[0]) as SnapshotHeader
    if (header.snapshot !== k) throw new Error(`header says snapshot ${String(header.snapshot)}`)
    for (const f of ['gen', 'nextOffset', 'nextAutoId'] as const) {
      if (!Number.isSafeInteger(header[f])) throw new Error(`header field "${f}" is not an integer`)
    }
    const state = new TopicState(topic)
    state.applyHeader(header)
    for (let i = 1; i < lines.length - 1; i++) {
      const rec = parseStateLine(lines[i])
      if (rec[0] !== 'S' && rec[0] !== 'W' && rec[0] !== 'D' && rec[0] !== 'R' && rec[0] !== 'H' && rec[0] !== 'F') throw new Error(`line ${i + 1}: a ${String(rec[0])} record does not belong in a snapshot`)
      if (rec[0] === 'S' && typeof rec[6] !== 'number') throw new Error(`line ${i + 1}: an S line of a snapshot has a tailFrom`)
      if (rec[0] === 'D' && rec.length !== 3) throw new Error(`line ${i + 1}: malformed D line`)
      state.apply(rec)
    }
    const end = parseStateLine(lines[lines.length - 1] ?? '')
    if (end[0] !== 'END' || end[1] !== lines.length) throw new Error('incomplete: no END line with the line count')
    this.snapBytes = Buffer.byteLength(text)
    return state
  }

  private replayLog (state: TopicState, k: number, last: boolean): void {
    const file = join(this.dir, stateLogFileName(k))
    const text = readFileSync(file, 'utf8')
    const lines = text.split('\n')
    const unterminated = lines.pop() ?? ''
    let damaged = 0
    let good = 0
    for (let i = 0; i < lines.length; i++) {
      try {
        state.apply(parseStateLine(lines[i]))
        good += Buffer.byteLength(lines[i]) + 1
      } catch (err) {
        if (last && i === lines.length - 1 && unterminated === '') {
          this.cut(file, good, `last line: ${(err as Error).message}`)
          return
        }
        damaged++
        this.problems++
        this.log.warn({ file, line: i + 1, error: (err as Error).message }, 'damaged state record skipped')
        good += Buffer.byteLength(lines[i]) + 1
      }
    }
    if (damaged > 0) {
      const copy = `${file}.damaged-${this.now()}`
      try { copyFileSync(file, copy) } catch { /* a full disk must not stop recovery */ }
      this.log.warn({ file, copy, damaged }, 'state log had damaged records; a copy was kept')
    }
    if (unterminated !== '') this.cut(file, good, 'unterminated last line')
    else this.sinceSnapshot += good
  }

  /** A torn end of the last log (a write cut short by a crash, never confirmed): cut off. */
  private cut (file: string, at: number, problem: string): void {
    const fd = openSync(file, 'r+')
    try { ftruncateSync(fd, at) } finally { closeSync(fd) }
    this.problems++
    this.sinceSnapshot += at
    this.log.warn({ file, at, problem }, 'torn end of a state log cut off (a write interrupted by a crash, never confirmed)')
  }
}

function writeAll (fd: number, data: Buffer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const step = (off: number): void => {
      if (off >= data.length) { resolve(); return }
      write(fd, data, off, data.length - off, null, (err, n) => {
        if (err !== null) reject(err)
        else step(off + n)
      })
    }
    step(0)
  })
}

function datasync (fd: number): Promise<void> {
  return new Promise<void>((resolve, reject) => fdatasync(fd, err => err === null ? resolve() : reject(err)))
}

function removeQuietly (file: string): void {
  try { unlinkSync(file) } catch { /* already gone */ }
}
