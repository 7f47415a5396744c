import type { Clock, Timer } from '../clock'
import { unlink } from 'node:fs/promises'
import { grantWord } from '../auth/acl'
import type { Logger } from '../log'
import type { PersistenceTimings } from '../metrics/histogram'
import { lastOffsetIn, linesIn, type LineParts } from './lineBatch'
import type { Subscription } from '../store/subscription'
import type { Topic } from '../store/topic'
import { trimPagePool } from '../store/unstoredEvents'
import { journalFile, type FsyncPolicy, type Journal } from './journal'
import { listJournalGens } from './layout'
import { expiredSegments, retentionFor, type RetentionConfig } from './retention'
import { ackedRecord, batchMarker, deliveredRecord, snapshotLines, type SubImage } from './stateCodec'
import { topicDirPath, TOPICS_DIR } from './topicDir'
import { fsyncDir } from './files'
import { join } from 'node:path'
import { TopicFiles, trashTopicDir } from './topicFiles'
import { writeExchangeFile } from './exchangeFile'

export interface BatchReport {
  /** Topics this batch wrote to (new events, state records or both). */
  topics: string[]
  /** Events appended to segments. */
  events: number
  /** Bytes appended (segments and state logs). */
  bytes: number
  /** Event-loop time of the synchronous step (taking the changes, rotating the journal). */
  syncMs: number
}

export interface BatcherOptions {
  dir: string
  journal: Journal | null
  fsync: FsyncPolicy
  log: Logger
  clock: Clock
  segmentBytes: number
  stateCompactMinBytes: number
  /** A topic whose segments grew by this much since its last snapshot gets a compaction (bounds what recovery lists). */
  stateTailBytes: number
  retention: RetentionConfig
  retentionCheckMs: number
  dedupeWindowMs: number
  dedupeMaxIds: number
  /** Where each batch's duration goes (GET /metrics). */
  timings?: PersistenceTimings | null
}

/** Kinds of queued changes (TopicChanges). */
const TEXT = 0
const DELIVERED = 1
const ACKED = 2
/** A `D` whose event was acked in the same batch: the `A` says all the state log needs. */
const DROPPED = 3

/**
 * Offset -> a mark (an integer within 32 bits), for the offsets one batch
 * touched: TopicChanges notes two per event on the named path. A batch's
 * offsets are mostly one recent stretch, so they go in a typed array from
 * the first one noted (no allocation per offset, nothing for the collector
 * to trace); far ones (a replay, old redeliveries) in a Map.
 */
export class OffsetMarks {
  private base = -1
  /** mark + 1 for a mark >= 0, the mark itself when negative, 0 for none. Kept from batch to batch; [0, used) may be set. */
  private dense = new Int32Array(0)
  private used = 0
  private readonly far = new Map<number, number>()

  /** The mark of `offset`, or undefined. */
  get (offset: number): number | undefined {
    const i = offset - this.base
    if (this.base >= 0 && i >= 0 && i < this.dense.length) {
      const v = this.dense[i]
      if (v !== 0) return v > 0 ? v - 1 : v
    }
    return this.far.get(offset)
  }

  /** Sets `offset`'s mark. */
  set (offset: number, mark: number): void {
    if (this.base < 0) this.base = offset
    const i = offset - this.base
    if (i >= 0 && i < MARKS_DENSE_MAX) {
      if (i >= this.dense.length) {
        const grown = new Int32Array(Math.min(MARKS_DENSE_MAX, Math.max(1024, 2 * i + 2)))
        grown.set(this.dense)
        this.dense = grown
      }
      this.dense[i] = mark >= 0 ? mark + 1 : mark
      if (i >= this.used) this.used = i + 1
      if (this.far.size > 0) this.far.delete(offset)
      return
    }
    this.far.set(offset, mark)
  }

  /** Forgets every mark. */
  clear (): void {
    this.base = -1
    this.dense.fill(0, 0, this.used)
    this.used = 0
    this.far.clear()
  }
}

/** OffsetMarks: offsets at most this far above the first one noted go in the typed array (4 MiB at most). */
const MARKS_DENSE_MAX = 1024 * 1024

/**
 * A topic's changes to its named subscriptions since the last batch, in the
 * order they happened, rendered as state-log records when the batch takes
 * them. Deliveries and acks (one each per event on the named path) are
 * queued as numbers, not strings; a delivery acked within the same batch is
 * left out (the state after the batch is the same: an `A` removes the offset
 * whether or not it was delivered), and one subscription's acks coalesce
 * into sorted ranges until another kind of record (S, U, C, …) comes. Acks
 * and deliveries of different offsets commute, so holding acks back past
 * later deliveries changes nothing.
 */
export class TopicChanges {
  /** Records carried over from a failed batch: they go first. */
  private carried: string[] = []
  /** Changes queued: `count` of them, in typed arrays kept from batch to batch (nothing per change for the collector). */
  private count = 0
  private kinds = new Uint8Array(CHANGES_START)
  /** Index in `texts` of the subscription of a D or A, of the record of a TEXT. */
  private textIds = new Int32Array(CHANGES_START)
  /** D: offset, priority, deliveries; A: first, last, unused. */
  private a = new Float64Array(CHANGES_START)
  private b = new Float64Array(CHANGES_START)
  private c = new Float64Array(CHANGES_START)
  /** Subscription names and TEXT records of this batch; the last name added is reused while it repeats. */
  private texts: string[] = []
  private lastName = ''
  private lastNameId = -1
  /** Offset -> index of its latest D in this batch, or -group for an offset acked in ack group `group` (OffsetMarks). */
  private readonly lastDelivery = new OffsetMarks()
  /** Number of the open ack group (from 1). */
  private group = 1
  /** The open ack group: one subscription's acked offsets (`ackCount` of them), not yet in order. */
  private ackSub = ''
  private acks = new Float64Array(CHANGES_START)
  private ackCount = 0

  push (record: string): void {
    this.closeAck()
    this.texts.push(record)
    this.add(TEXT, this.texts.length - 1, 0, 0, 0)
  }

  delivered (sub: string, offset: number, priority: number, deliveries: number): void {
    if (this.ackCount > 0 && this.lastDelivery.get(offset) === -this.group) this.closeAck() // delivered again after its ack: keep the order
    this.lastDelivery.set(offset, this.count)
    this.add(DELIVERED, this.nameId(sub), offset, priority, deliveries)
  }

  ack (sub: string, offset: number): void {
    if (this.ackCount > 0 && sub !== this.ackSub) this.closeAck()
    this.ackSub = sub
    const d = this.lastDelivery.get(offset)
    if (d !== undefined && d >= 0 && this.kinds[d] === DELIVERED && this.texts[this.textIds[d]] === sub) this.kinds[d] = DROPPED
    this.lastDelivery.set(offset, -this.group)
    if (this.ackCount === this.acks.length) this.acks = grown(this.acks, this.ackCount)
    this.acks[this.ackCount++] = offset
  }

  /** Takes every record so far (the batch's share), rendered. */
  take (): string[] {
    this.closeAck()
    const out = this.carried
    this.carried = []
    renderChanges(out, this.count, this.kinds, this.textIds, this.texts, this.a, this.b, this.c)
    this.count = 0
    this.texts = []
    this.lastName = ''
    this.lastNameId = -1
    this.lastDelivery.clear()
    return out
  }

  /** A failed batch: its records go first next time. */
  putBack (records: string[]): void {
    this.carried = records.concat(this.take())
  }

  /** The index in `texts` of a D's or A's subscription. */
  private nameId (sub: string): number {
    if (sub !== this.lastName || this.lastNameId < 0) {
      this.texts.push(sub)
      this.lastName = sub
      this.lastNameId = this.texts.length - 1
    }
    return this.lastNameId
  }

  private add (kind: number, textId: number, x: number, y: number, z: number): void {
    const i = this.count
    if (i === this.kinds.length) this.grow()
    this.kinds[i] = kind
    this.textIds[i] = textId
    this.a[i] = x
    this.b[i] = y
    this.c[i] = z
    this.count = i + 1
  }

  private grow (): void {
    const n = this.count
    this.kinds = grown(this.kinds, n)
    this.textIds = grown(this.textIds, n)
    this.a = grown(this.a, n)
    this.b = grown(this.b, n)
    this.c = grown(this.c, n)
  }

  private closeAck (): void {
    const n = this.ackCount
    if (n === 0) return
    if (n > 1) this.acks.subarray(0, n).sort() // numeric: a typed array's own order
    while (this.kinds.length - this.count < n) this.grow() // room for a range per ack, so the loop never grows
    this.count = addAckRanges(this.acks, n, this.nameId(this.ackSub), this.count, this.kinds, this.textIds, this.a, this.b)
    this.ackCount = 0
    this.group++ // the group's offsets are now behind whatever follows
  }
}

/*
 * The per-change loops of a batch are functions of their own with nothing
 * after the loop: V8 compiles a hot loop while it runs (on-stack
 * replacement), and code after it that had never run made that code bail
 * out and be compiled again at every batch (seen in --trace-deopt, the
 * compile time on V8's threads a measurable share of W3's CPU).
 */

/** Renders changes [0, count) into `out`. */
function renderChanges (out: string[], count: number, kinds: Uint8Array, textIds: Int32Array, texts: string[], a: Float64Array, b: Float64Array, c: Float64Array): void {
  for (let i = 0; i < count; i++) {
    const k = kinds[i]
    if (k === TEXT) out.push(texts[textIds[i]])
    else if (k === DELIVERED) out.push(deliveredRecord(texts[textIds[i]], a[i], b[i], c[i]))
    else if (k === ACKED) out.push(ackedRecord(texts[textIds[i]], a[i], b[i]))
  }
}

/** Adds the ranges of sorted `acks[0, n)` as ACKED changes of subscription text `sub` from index `at` (room made); returns the new count. */
function addAckRanges (acks: Float64Array, n: number, sub: number, at: number, kinds: Uint8Array, textIds: Int32Array, a: Float64Array, b: Float64Array): number {
  for (let i = 0; i < n;) {
    let j = i
    while (j + 1 < n && acks[j + 1] <= acks[j] + 1) j++
    kinds[at] = ACKED
    textIds[at] = sub
    a[at] = acks[i]
    b[at] = acks[j]
    at++
    i = j + 1
  }
  return at
}

/** Room for this many queued changes (and acks) in a topic's first batch; they double as needed and are kept. */
const CHANGES_START = 64

/** A typed array twice as long, holding `a[0, n)`. */
function grown<T extends Uint8Array | Int32Array | Float64Array> (a: T, n: number): T {
  const g = new (a.constructor as new (length: number) => T)(2 * a.length)
  g.set(a.subarray(0, n) as never)
  return g
}

/** One topic's share of a batch. */
interface Work {
  topic: Topic
  changes: TopicChanges
  records: string[]
  events: LineParts
  files: TopicFiles | undefined
  /** The snapshot lines of a compaction captured in the synchronous step, or null. */
  snapshot: ((k: number) => Iterable<string>) | null
}

/** Topic writes in flight at once (each is a few writes and fsyncs). */
const WRITE_CONCURRENCY = 16

/**
 * Every batchIntervalMs, stores what changed (storage v2): for each topic
 * touched since the last batch, its new events are appended to its segments
 * and its subscription changes to its state log, with a batch marker; the
 * journal is rotated in the same synchronous step, and its generations are
 * deleted once every topic is stored. A batch costs what changed since the
 * last one, never the backlog. Afterwards, off the critical path: state log
 * compactions (captured in the synchronous step, written in slices) and,
 * every retentionCheckMs, retention.
 */
export class EventsBatcher {
  /** Topics changed since the last batch, with their state records. */
  readonly dirty = new Map<Topic, TopicChanges>()
  /**
   * The record lists the last batch took (empty since: take() renders them),
   * reused by changes() so a busy topic's arrays are not allocated again at
   * every batch (new external memory is what starts V8's full collections
   * early). One not reused by the next batch is let go.
   */
  private spares = new Map<Topic, TopicChanges>()
  /** Each topic's open directory (created at the first batch that touches it). */
  readonly files = new Map<Topic, TopicFiles>()
  lastReport: BatchReport = { topics: [], events: 0, bytes: 0, syncMs: 0 }
  batches = 0
  /** Compactions started (for tests). */
  compactions = 0
  private deletedTopics: Topic[] = []
  private readonly o: BatcherOptions
  private readonly journal: Journal | null
  private timer: Timer | null = null
  private running: Promise<void> | null = null
  /** Journal files from before a restart may still need deleting. */
  private cleanupPending: boolean
  private lastRetention: number
  private readonly pendingCompactions = new Set<Promise<unknown>>()
  /** Topic directories created and not yet synced into `topics/`. */
  private created = 0
  /** An exchange or binding changed since the last batch: exchanges.json is rewritten. */
  exchangesDirty = false
  /** The exchange table as exchanges.json stores it (set by the durability layer). */
  exchangesState: (() => unknown) | null = null

  constructor (o: BatcherOptions) {
    this.o = o
    this.journal = o.journal
    this.cleanupPending = o.journal !== null
    this.lastRetention = o.clock.now()
  }

  start (intervalMs: number): void {
    this.timer = this.o.clock.every(intervalMs, () => { void this.run() })
  }

  /** The topic changed: it is written at the next batch. Returns its record list. */
  changes (topic: Topic): TopicChanges {
    let c = this.dirty.get(topic)
    if (c === undefined) {
      c = this.spares.get(topic)
      if (c === undefined) c = new TopicChanges()
      else this.spares.delete(topic)
      this.dirty.set(topic, c)
    }
    return c
  }

  /** The topic was deleted: its directory goes to the trash at the next batch. */
  deleted (topic: Topic): void {
    this.dirty.delete(topic)
    this.spares.delete(topic)
    this.deletedTopics.push(topic)
  }

  /** Runs one batch (or joins the one running). Never rejects: failures are logged and retried next time. */
  run (): Promise<void> {
    if (this.running === null) {
      this.running = this.batch().finally(() => { this.running = null })
    }
    return this.running
  }

  /** Stops the timer, writes everything still pending, waits for compactions and closes the topic files. */
  async stop (): Promise<void> {
    this.timer?.cancel()
    this.timer = null
    await this.run()
    if (this.dirty.size > 0 || this.deletedTopics.length > 0 || this.exchangesDirty) await this.run()
    await Promise.all([...this.pendingCompactions])
    for (const files of this.files.values()) await files.close()
  }

  /** Waits for the compactions started so far (tests). */
  async settled (): Promise<void> {
    await Promise.all([...this.pendingCompactions])
  }

  private async batch (): Promise<void> {
    const now = this.o.clock.now()
    const retentionDue = now - this.lastRetention >= this.o.retentionCheckMs
    if (this.dirty.size > 0 || this.deletedTopics.length > 0 || this.cleanupPending || this.exchangesDirty) await this.store()
    if (retentionDue) {
      this.lastRetention = now
      await this.retain(now)
    }
  }

  /** The batch proper (see the class comment). */
  private async store (): Promise<void> {
    const journal = this.journal
    if (journal !== null) await journal.pauseForRotation()
    const t0 = performance.now()
    const gen = journal?.gen ?? 0
    const deletions = this.deletedTopics
    this.deletedTopics = []
    const work: Work[] = []
    // A spare not taken back by changes() is a topic that changed nothing since the last batch: its memory goes.
    for (const topic of this.spares.keys()) topic.trimUnstored()
    trimPagePool()
    this.spares = new Map()
    for (const [topic, changes] of this.dirty) {
      const records = changes.take()
      records.push(batchMarker(gen, topic.nextOffset, topic.nextAutoId))
      const files = this.files.get(topic)
      let snapshot: Work['snapshot'] = null
      if (files !== undefined && (files.state.needsCompaction || files.sinceSnapshot >= this.o.stateTailBytes)) {
        snapshot = captureSnapshot(topic, gen)
        files.sinceSnapshot = 0
      }
      work.push({ topic, changes, records, events: topic.takeForAppend(), files, snapshot })
      this.spares.set(topic, changes)
    }
    this.dirty.clear()
    // The exchange table as of this generation: captured in the same synchronous step as the rotation.
    const exchanges = this.exchangesDirty && this.exchangesState !== null ? this.exchangesState() : undefined
    this.exchangesDirty = false
    if (journal !== null) journal.rotate(gen + 1)
    const syncMs = performance.now() - t0

    // Deleted topics first: one deleted and published to again in this interval gets a fresh directory.
    for (const topic of deletions) await this.removeFiles(topic)
    let failed = 0
    let bytes = 0
    let events = 0
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < work.length) {
        const w = work[next++]
        const n = await this.write(w)
        if (n < 0) failed++
        else { bytes += n; events += linesIn(w.events) }
      }
    }
    await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, work.length) }, worker))
    if (exchanges !== undefined) {
      try {
        await writeExchangeFile(this.o.dir, gen, exchanges, this.o.fsync !== 'off')
      } catch (err) {
        failed++
        this.exchangesDirty = true // the journal keeps the records until a batch stores the table
        this.o.log.error({ err }, 'could not store the exchanges; will retry at the next batch')
      }
    }
    if (this.created > 0 && this.o.fsync !== 'off') {
      // The new topic directories' entries, once for the whole batch.
      try {
        await fsyncDir(join(this.o.dir, TOPICS_DIR))
        this.created = 0
      } catch (err) {
        failed++
        this.o.log.error({ err }, 'could not sync the topics directory; will retry at the next batch')
      }
    }
    if (failed === 0) {
      if (journal !== null) {
        try {
          // Off the event loop: a generation of a busy named topic is megabytes, and its unlink took milliseconds.
          for (const g of listJournalGens(this.o.dir)) if (g <= gen) await unlink(journalFile(this.o.dir, g))
          this.cleanupPending = false
        } catch (err) {
          this.o.log.error({ err }, 'could not delete a journal generation; will retry at the next batch')
        }
      }
      this.batches++
      this.lastReport = { topics: work.map(w => w.topic.name), events, bytes, syncMs }
      this.o.timings?.batch.observe((performance.now() - t0) / 1000)
    }
  }

  /** Writes one topic's share; returns the bytes written, or -1 when it failed (it is retried next batch). */
  private async write (w: Work): Promise<number> {
    const { topic } = w
    let appended = false
    try {
      let files = w.files
      if (files === undefined) {
        files = await TopicFiles.create(this.o.dir, topic.name, this.fileOptions())
        this.created++
        this.files.set(topic, files)
        if (!topic.deleted) topic.log = files.segments
      }
      let bytes = 0
      const last = lastOffsetIn(w.events)
      if (last >= 0) {
        const before = files.segments.bytes
        await files.segments.appendLines(w.events)
        appended = true
        topic.appended(last)
        bytes = files.segments.bytes - before
        files.sinceSnapshot += bytes
      }
      // State after events: a batch marker for generation g promises the segments hold every event up to it.
      const before = files.state.logBytes
      const stored = files.state.append(w.records)
      if (w.snapshot !== null) this.compact(files, w.snapshot)
      await stored
      return bytes + files.state.logBytes - before
    } catch (err) {
      if (!appended) topic.appendFailed()
      // The list may have been reused for changes since (then it is the topic's dirty one): its records go after these.
      w.changes.putBack(w.records.slice(0, -1)) // the marker is written afresh
      this.spares.delete(topic)
      this.dirty.set(topic, w.changes)
      this.o.log.error({ err, topic: topic.name }, 'storing a topic failed; will retry at the next batch')
      return -1
    }
  }

  /** Starts a compaction: the logs switch now (after this batch's records), the snapshot is written in the background. */
  private compact (files: TopicFiles, render: (k: number) => Iterable<string>): void {
    this.compactions++
    const p = files.state.compact(render).catch((err: unknown) => {
      this.o.log.error({ err, dir: files.dir }, 'compacting a state log failed; the logs still hold everything')
    })
    this.pendingCompactions.add(p)
    void p.finally(() => this.pendingCompactions.delete(p))
  }

  private async removeFiles (topic: Topic): Promise<void> {
    const files = this.files.get(topic)
    this.files.delete(topic)
    try {
      if (files !== undefined) await files.close()
      // Only a directory this topic object owned: a new topic of that name may have one by now.
      if (files !== undefined) await trashTopicDir(this.o.dir, files.dir, this.o.clock.now(), this.o.log)
      else if (!this.hasNewer(topic)) await trashTopicDir(this.o.dir, topicDirPath(this.o.dir, topic.name), this.o.clock.now(), this.o.log)
    } catch (err) {
      this.o.log.error({ err, topic: topic.name }, 'could not move a deleted topic\'s files to the trash')
    }
  }

  /** Whether a newer topic of the same name already has its files open. */
  private hasNewer (topic: Topic): boolean {
    for (const t of this.files.keys()) if (t.name === topic.name) return true
    return false
  }

  /**
   * Retention: deletes each topic's leading segments that are wholly past
   * `maxAgeMs`, or over `maxBytes`, and hold nothing a subscription is still
   * owed; rolls an active segment that has wholly expired so the next pass can
   * delete it. Also forgets ids past the dedupe window. A few unlinks per
   * topic, never a scan; yields to the event loop every few topics.
   */
  async retain (now = this.o.clock.now()): Promise<void> {
    let k = 0
    for (const [topic, files] of [...this.files]) {
      if (topic.deleted) continue
      const owedFrom = topic.lowestOwed()
      const v = expiredSegments(files.segments.segments(), retentionFor(topic.name, this.o.retention), owedFrom, now)
      try {
        if (v.deleteCount > 0) {
          await files.segments.deleteOldest(v.deleteCount)
          this.o.log.info({ topic: topic.name, segments: v.deleteCount, bytes: v.deleteBytes, reason: v.reason, firstOffset: files.segments.firstOffset }, 'retention: deleted old segments')
        }
        if (v.rollActive) await files.segments.roll()
      } catch (err) {
        this.o.log.error({ err, topic: topic.name }, 'retention failed for a topic; retried at the next pass')
      }
      topic.ids.prune(owedFrom, now - this.o.dedupeWindowMs, this.o.dedupeMaxIds)
      if (++k % 64 === 0) await new Promise(resolve => setImmediate(resolve))
    }
  }

  private fileOptions (): { fsync: FsyncPolicy, log: Logger, now: () => number, segmentBytes: number, compactMinBytes: number } {
    return { fsync: this.o.fsync, log: this.o.log, now: this.o.clock.now, segmentBytes: this.o.segmentBytes, compactMinBytes: this.o.stateCompactMinBytes }
  }
}

/**
 * A topic's named subscriptions and grants as of now, frozen (the pending
 * indexes cloned: two typed-array copies per priority), rendered later as
 * snapshot k.
 */
function captureSnapshot (topic: Topic, gen: number): (k: number) => Iterable<string> {
  const images: SubImage[] = []
  for (const s of topic.subscriptions.values()) if (s.named) images.push(imageOf(s))
  const grants: Array<[string, string]> = [...topic.grants].map(([u, r]) => [u, grantWord(r)])
  const header = { topic: topic.name, gen, nextOffset: topic.nextOffset, nextAutoId: topic.nextAutoId }
  return (k) => snapshotLines({ snapshot: k, ...header }, images, grants)
}

function imageOf (s: Subscription): SubImage {
  const delivered: number[] = []
  for (const d of s.delivered()) delivered.push(d.ev.offset, d.ev.priority, d.deliveries)
  return {
    name: s.key,
    maxInFlight: s.maxInFlight,
    ackTimeoutMs: s.ackTimeoutMs,
    start: s.start,
    to: s.to,
    tailFrom: s.listFrom >= 0 ? s.listFrom : s.topic.nextOffset,
    user: s.user,
    waiting: s.waiting.clone(),
    hook: s.hook === null ? null : { ...s.hook },
    forEachDelivered: (fn) => { for (let i = 0; i < delivered.length; i += 3) fn(delivered[i], delivered[i + 1], delivered[i + 2]) },
  }
}
