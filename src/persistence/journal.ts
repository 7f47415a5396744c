import { close, closeSync, fdatasync, fstatSync, fsync, fsyncSync, ftruncateSync, open, openSync, unlinkSync, write, writeSync } from 'node:fs'
import { join } from 'node:path'
import type { PersistenceTimings } from '../metrics/histogram'

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
  private buf: string[] = []
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
    if (this.buf.length === 0 && this.timings !== null) this.groupAt = performance.now()
    this.buf.push(record)
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(flushJournal, this)
    }
    return this.openTicket
  }

  /** The ticket records appended now would get (what `append` returns); a reply held on it follows them. */
  openTicketNow (): number {
    return this.buf.length > 0 ? this.openTicket : this.openTicket - 1
  }

  /** Writes the queued group: synchronously under `batch`, asynchronously with fdatasync under `always`. */
  flush (): void {
    this.scheduled = false
    if (this.writing || this.paused || this.buf.length === 0) return
    this.startTiming()
    const data = Buffer.from(this.buf.join('\n') + '\n', 'utf8')
    this.buf = []
    const ticket = this.openTicket++
    if (this.policy !== 'always') {
      try {
        writeAllSync(this.fd, data)
        this.size += data.length
        this.settle(ticket, null)
      } catch (err) {
        this.cutBack()
        this.settle(ticket, err as Error)
      }
      return
    }
    this.writing = true
    const fd = this.fd
    writeAll(fd, data, 0, (err) => {
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
      if (this.buf.length > 0) {
        this.startTiming()
        writeAllSync(oldFd, Buffer.from(this.buf.join('\n') + '\n', 'utf8'))
        this.buf = []
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
    if (this.buf.length > 0 && !this.scheduled) {
      this.scheduled = true
      setImmediate(flushJournal, this)
    }
  }

  /** Flushes and syncs everything queued, then closes (shutdown); an empty file is removed. */
  close (): void {
    if (this.buf.length > 0) {
      const ticket = this.openTicket++
      try {
        writeAllSync(this.fd, Buffer.from(this.buf.join('\n') + '\n', 'utf8'))
        this.buf = []
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
    this.writeRecords = this.buf.length
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
    if (!this.paused && this.buf.length > 0 && !this.scheduled) {
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

function flushJournal (j: Journal): void {
  j.flush()
}
