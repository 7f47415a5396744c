import { close, closeSync, fdatasync, fstatSync, fsync, fsyncSync, ftruncateSync, open, openSync, unlinkSync, write, writeSync } from 'node:fs'
import { join } from 'node:path'
import type { PersistenceTimings } from '../metrics/histogram'

/** Buffer's own UTF-8 writer (under `write`, which only checks its arguments first): called once per record. */
interface Utf8Buffer extends Buffer {
  utf8Write: (s: string, offset: number) => number
}

/** A group's buffer to start with, and the largest one kept for reuse (a burst's larger buffer is let go). */
const GROUP_BYTES = 64 * 1024
const GROUP_KEEP_BYTES = 4 * 1024 * 1024
const NEWLINE = 0x0a
const COMMA = 0x2c
const CLOSE = 0x5d // ]

export type FsyncPolicy = 'always' | 'batch' | 'off'

export const JOURNAL_PREFIX = 'journal-'
export const JOURNAL_SUFFIX = '.ndjson'

export function journalFile (dir: string, gen: number): string {
  return join(dir, `${JOURNAL_PREFIX}${gen}${JOURNAL_SUFFIX}`)
}

export interface JournalEvents {
  /** Every record appended with a ticket up to this one is on disk (and fsynced under `always`). */
  durable: (ticket: number) => void
  /** Writing a group failed: records with tickets up to this one are not stored. */
  failed: (ticket: number, err: Error) => void
}

/**
 * Append-only journal with group commit: every record appended in one turn
 * of the event loop goes out in one write (and, under `always`, one
 * fdatasync). append() returns a ticket; replies that must not go out before
 * their record is stored wait for that ticket to become durable.
 * The batcher rotates to a new generation file when it snapshots the store.
 */
export class Journal {
  gen: number
  /** Highest ticket known to be stored. */
  durableTicket = 0
  private readonly dir: string
  private readonly policy: FsyncPolicy
  private readonly events: JournalEvents
  private fd: number
  /** Bytes of whole groups in the current file: a failed group is cut back to here. */
  private size = 0
  /** The group being filled: its records as UTF-8 lines, back to back (bytes [0, used)). */
  private group: Buffer = Buffer.allocUnsafeSlow(GROUP_BYTES)
  private used = 0
  /** Records in the group being filled. */
  private records = 0
  /** The buffer of the group being written (it must not change until the write is done), then kept for the next group. */
  private inFlight: Buffer | null = null
  private spare: Buffer | null = null
  private openTicket = 1
  private scheduled = false
  private writing = false
  private paused = false
  private idleWaiters: Array<() => void> = []
  /** performance.now() when the queued group got its first record, and for the group being written: then, when its write began, its records. */
  private groupAt = 0
  private writeGroupAt = 0
  private writeAt = 0
  private writeRecords = 0

  /** timings: where group-commit and confirm latencies go (GET /metrics); null when nobody reads them. */
  constructor (dir: string, gen: number, policy: FsyncPolicy, events: JournalEvents, private readonly timings: PersistenceTimings | null = null) {
    this.dir = dir
    this.gen = gen
    this.policy = policy
    this.events = events
    this.fd = this.openFile(gen)
  }

  /** Opens a generation file; under `always` its directory entry is made durable too. */
  private openFile (gen: number): number {
    const fd = openSync(journalFile(this.dir, gen), 'a')
    this.size = fstatSync(fd).size
    if (this.policy === 'always') {
      const dirFd = openSync(this.dir, 'r')
      try { fsyncSync(dirFd) } finally { closeSync(dirFd) }
    }
    return fd
  }

  /** Queues one record (a JSON text without newline); returns the ticket to wait for. */
  append (record: string): number {
    this.room(record.length * 3 + 1)
    this.used += (this.group as Utf8Buffer).utf8Write(record, this.used)
    return this.endRecord()
  }

  /**
   * Queues the record `head` + `text` + `]`: `head` already UTF-8 (a
   * record's constant start, e.g. a publish record's kind and topic), `text`
   * encoded straight into the group (an event's text, no string built).
   */
  appendText (head: Buffer, text: string): number {
    this.room(head.length + text.length * 3 + 2)
    const g = this.group
    const at = putBytes(g, this.used, head)
    this.used = at + (g as Utf8Buffer).utf8Write(text, at)
    g[this.used++] = CLOSE
    return this.endRecord()
  }

  /**
   * Queues the record `head` + `a,b]`, or `head` + `a,b,c]` when `c` is
   * given: a record that ends in integers (a delivery, an ack), written as
   * bytes, exactly the text `${a}` of each number gives.
   */
  appendInts (head: Buffer, a: number, b: number, c?: number): number {
    this.room(head.length + 3 * 24 + 4) // three numbers of at most 24 characters (`${-Number.MAX_VALUE}`), two commas, `]`, newline
    const g = this.group
    let at = putBytes(g, this.used, head)
    at = putNumber(g, at, a)
    g[at++] = COMMA
    at = putNumber(g, at, b)
    if (c !== undefined) {
      g[at++] = COMMA
      at = putNumber(g, at, c)
    }
    g[at++] = CLOSE
    this.used = at
    return this.endRecord()
  }

  /** Ends the record just written with its newline; returns its ticket and schedules the group's write. */
  private endRecord (): number {
    this.group[this.used++] = NEWLINE
    if (this.records++ === 0 && this.timings !== null) this.groupAt = performance.now()
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(flushJournal, this)
    }
    return this.openTicket
  }

  /** Writes the group being filled to `fd` now, synchronously: its buffer is free again at once. */
  private writeQueuedSync (fd: number): void {
    writeAllSync(fd, this.group.subarray(0, this.used))
    this.used = 0
    this.records = 0
  }

  /** Room for `bytes` more bytes in the group being filled (never in flight: it can move). */
  private room (bytes: number): void {
    const need = this.used + bytes
    if (need <= this.group.length) return
    const g = Buffer.allocUnsafeSlow(Math.max(need, 2 * this.group.length))
    this.group.copy(g, 0, 0, this.used)
    this.group = g
  }

  /** The queued group's bytes, handed over for writing; the next group fills the spare buffer. */
  private takeGroup (): Buffer {
    const g = this.group
    const data = g.subarray(0, this.used)
    this.inFlight = g
    this.group = this.spare ?? Buffer.allocUnsafeSlow(GROUP_BYTES)
    this.spare = null
    this.used = 0
    this.records = 0
    return data
  }

  /** The group in flight is written (or failed): its buffer is the next spare, unless a burst made it large. */
  private groupWritten (): void {
    const g = this.inFlight
    this.inFlight = null
    if (g !== null && g.length <= GROUP_KEEP_BYTES) this.spare = g
  }

  /** The ticket records appended now would get (what `append` returns); a reply held on it follows them. */
  openTicketNow (): number {
    return this.records > 0 ? this.openTicket : this.openTicket - 1
  }

  /** Writes the queued group: synchronously under `batch`, asynchronously with fdatasync under `always`. */
  flush (): void {
    this.scheduled = false
    if (this.writing || this.paused || this.records === 0) return
    this.startTiming()
    const data = this.takeGroup()
    const ticket = this.openTicket++
    if (this.policy !== 'always') {
      try {
        writeAllSync(this.fd, data)
        this.size += data.length
        this.groupWritten()
        this.settle(ticket, null)
      } catch (err) {
        this.cutBack()
        this.groupWritten()
        this.settle(ticket, err as Error)
      }
      return
    }
    this.writing = true
    const fd = this.fd
    writeAll(fd, data, 0, (err) => {
      this.groupWritten()
      if (err !== null) {
        this.cutBack()
        return this.settle(ticket, err)
      }
      fdatasync(fd, (err2) => {
        if (err2 === null) this.size += data.length
        else this.cutBack()
        this.settle(ticket, err2)
      })
    })
  }

  /**
   * A group failed (disk full, I/O error): remove whatever part of it reached
   * the file, so the next group starts on a line boundary and recovery never
   * reads an unconfirmed record.
   */
  private cutBack (): void {
    try { ftruncateSync(this.fd, this.size) } catch { /* the next write will fail too and say so */ }
  }

  /** Resolves once no group is being written, with flushing held back: the batcher's moment to rotate. */
  async pauseForRotation (): Promise<void> {
    this.paused = true
    if (this.writing) await new Promise<void>(resolve => this.idleWaiters.push(resolve))
  }

  /**
   * Writes what is queued to the current file, then switches to generation
   * `gen`. Synchronous, so no record can land between the changes the
   * batcher takes and the switch. Call after pauseForRotation(). Under
   * `always`, the old file's fdatasync and the directory's fsync (the new
   * file's entry) run off the event loop; until they are done no group is
   * written and the records written here are not reported durable, so tickets
   * still become durable in order.
   */
  rotate (gen: number): void {
    const oldFd = this.fd
    let ticket = 0
    let err: Error | null = null
    try {
      if (this.records > 0) {
        this.startTiming()
        this.writeQueuedSync(oldFd)
        ticket = this.openTicket++
      }
    } catch (e) {
      err = e as Error
    }
    this.gen = gen
    this.fd = openSync(journalFile(this.dir, gen), 'a')
    this.size = fstatSync(this.fd).size
    this.paused = false
    if (this.policy !== 'always') {
      closeSync(oldFd)
      this.done(ticket, err)
      return
    }
    this.writing = true
    fdatasync(oldFd, (e1) => {
      close(oldFd, () => {
        syncDir(this.dir, (e2) => this.done(ticket, err ?? e1 ?? e2))
      })
    })
  }

  /** The end of a rotation: its records settle (if it wrote any), or the journal is simply idle again. */
  private done (ticket: number, err: Error | null): void {
    if (ticket > 0) {
      this.settle(ticket, err)
      return
    }
    this.writing = false
    if (err !== null) this.events.failed(this.openTicket - 1, err)
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const w of waiters) w()
    if (this.records > 0 && !this.scheduled) {
      this.scheduled = true
      setImmediate(flushJournal, this)
    }
  }

  /** Flushes and syncs everything queued, then closes (shutdown); an empty file is removed. */
  close (): void {
    if (this.records > 0) {
      const ticket = this.openTicket++
      try {
        this.writeQueuedSync(this.fd)
        this.settle(ticket, null)
      } catch (err) {
        this.settle(ticket, err as Error)
      }
    }
    try { fsyncSync(this.fd) } catch { /* closing anyway */ }
    const empty = fstatSync(this.fd).size === 0
    closeSync(this.fd)
    if (empty) unlinkSync(journalFile(this.dir, this.gen))
  }

  /** Notes when the group now being written started, for the latency histograms. */
  private startTiming (): void {
    if (this.timings === null) return
    this.writeGroupAt = this.groupAt
    this.writeAt = performance.now()
    this.writeRecords = this.records
  }

  private settle (ticket: number, err: Error | null): void {
    this.writing = false
    if (err === null) {
      if (this.timings !== null && this.writeRecords > 0) {
        const now = performance.now()
        this.timings.journalCommit.observe((now - this.writeAt) / 1000)
        this.timings.publishConfirm.observe((now - this.writeGroupAt) / 1000, this.writeRecords)
        this.writeRecords = 0
      }
      if (ticket > this.durableTicket) this.durableTicket = ticket
      this.events.durable(this.durableTicket)
    } else {
      this.events.failed(ticket, err)
    }
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const w of waiters) w()
    if (!this.paused && this.records > 0 && !this.scheduled) {
      this.scheduled = true
      setImmediate(flushJournal, this)
    }
  }
}

/** write(2) may write less than asked (disk nearly full, file size limit): loop until all is written or it fails. */
function writeAllSync (fd: number, data: Buffer): void {
  let off = 0
  while (off < data.length) off += writeSync(fd, data, off, data.length - off)
}

function writeAll (fd: number, data: Buffer, off: number, done: (err: Error | null) => void): void {
  write(fd, data, off, data.length - off, null, (err, n) => {
    if (err !== null) return done(err)
    if (off + n < data.length) return writeAll(fd, data, off + n, done)
    done(null)
  })
}

/** fsync of a directory, asynchronously (a new file's entry made durable). */
function syncDir (dir: string, done: (err: Error | null) => void): void {
  open(dir, 'r', (err, fd) => {
    if (err !== null) { done(err); return }
    fsync(fd, (err2) => close(fd, () => done(err2)))
  })
}

/** Copies a record's head (a few dozen bytes) to `at`; returns the end. A loop: Buffer's `copy` checks its arguments in JavaScript, and that code was inlined and compiled into every caller. */
function putBytes (buf: Buffer, at: number, head: Buffer): number {
  const n = head.length
  for (let k = 0; k < n; k++) buf[at + k] = head[k]
  return at + n
}

/**
 * Writes `x` as `${x}` would, at `at`; returns the end. Non-negative safe
 * integers (offsets, priorities, counts) digit by digit, anything else
 * through its string.
 */
export function putNumber (buf: Buffer, at: number, x: number): number {
  if (!(x >= 0 && x <= Number.MAX_SAFE_INTEGER && Math.floor(x) === x)) return at + (buf as Utf8Buffer).utf8Write(String(x), at)
  if (x < 10) {
    buf[at] = 0x30 + x
    return at + 1
  }
  let digits = 1
  for (let p = 10; p <= x; p *= 10) digits++
  let i = at + digits
  while (x >= 10) {
    const q = Math.floor(x / 10)
    buf[--i] = 0x30 + (x - q * 10)
    x = q
  }
  buf[--i] = 0x30 + x
  return at + digits
}

function flushJournal (j: Journal): void {
  j.flush()
}
